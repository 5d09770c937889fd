// What is mounted (/proc/self/mounts), what fstab says, and the identity of a
// path (device and inode), which tells whether a mount point shows the source
// it should: a bind mount is listed under its device's name, not its source dir.
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

export interface MountEntry {
  source: string
  target: string
  fstype: string
  options: string
  dump: number
  passno: number
}

/** Both the kernel and fstab write space, tab, newline and backslash as \ooo. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
}

export function escapeMountField(field: string): string {
  return field.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))
}

/** One fstab or mounts line; undefined for a blank or comment line. */
export function parseMountLine(line: string): MountEntry | undefined {
  const trimmed = line.trim()
  if (trimmed === '' || trimmed.startsWith('#')) return undefined
  const [source, target, fstype = 'auto', options = 'defaults', dump = '0', passno = '0'] = trimmed.split(/\s+/)
  if (source === undefined || target === undefined) return undefined
  return {
    source: unescapeMountField(source),
    target: unescapeMountField(target),
    fstype,
    options: unescapeMountField(options),
    dump: Number(dump) || 0,
    passno: Number(passno) || 0,
  }
}

/** Mounts in kernel order: a later entry for the same target is mounted on top. */
export function parseMounts(text: string): MountEntry[] {
  return text.split('\n').flatMap((line) => parseMountLine(line) ?? [])
}

export interface FstabEntry extends MountEntry {
  /** Index of the line in `text.split('\n')`. */
  line: number
}

export function parseFstab(text: string): FstabEntry[] {
  return text.split('\n').flatMap((line, index) => {
    const entry = parseMountLine(line)
    return entry ? [{ ...entry, line: index }] : []
  })
}

export function parseMountsProbe(output: ProbeOutput): MountEntry[] {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `exit ${output.code}`)
  return parseMounts(output.stdout)
}

export const mountsFact: Fact<MountEntry[]> = fact('mounts', sh`cat /proc/self/mounts`, parseMountsProbe)

export interface PathIdentity {
  /** st_dev: the file system the path lives on (after following links). */
  device: number
  inode: number
  /** st_rdev, for a device node: the device it stands for. */
  deviceNumber: number
  isBlockDevice: boolean
}

/** glibc's makedev(), so a device node's major:minor compares with a path's st_dev. */
export function makeDevice(major: number, minor: number): number {
  return (major & 0xfff) * 0x100 + (minor & 0xff) + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 0x100000000
}

export function parsePathIdentity(output: ProbeOutput): PathIdentity | undefined {
  const line = output.stdout.trim()
  if (output.code !== 0 || line === '' || line === '-') return undefined
  const m = /^(\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
  if (!m) throw new Error(`unexpected stat output: ${JSON.stringify(line)}`)
  return {
    device: Number(m[1]),
    inode: Number(m[2]),
    deviceNumber: makeDevice(parseInt(m[3] ?? '0', 16), parseInt(m[4] ?? '0', 16)),
    isBlockDevice: m[5] === 'block special file',
  }
}

/** Device and inode of a path, following links; undefined when it does not exist. */
export function pathIdentityFact(path: string): Fact<PathIdentity | undefined> {
  return fact(`path-identity:${path}`, sh`stat -L -c '%d %i %t %T %F' -- ${path} 2>/dev/null || echo -`, parsePathIdentity)
}
