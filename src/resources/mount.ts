// `mount`: an fstab line and, for 'mounted', the live mount.
//
// - 'mounted': the fstab line, and mounted now (mkdir -p first). Something else
//   already mounted there is an error: berth does not stack mounts.
// - 'present': the fstab line only. 'unmounted': umount, fstab kept.
// - 'absent': umount and the fstab line removed (the mount point dir stays).
// A changed fstab line does not remount a mounted file system: new options take
// effect at the next mount (umount + mount, or a reboot), said in the summary.
//
// "Mounted from src" is decided by identity, not by name: a bind mount shows the
// device name in /proc/self/mounts, so for bind mounts the mount point and src
// must be the same directory (device and inode); for a device source (/dev/…,
// UUID=, LABEL=…) the mount point's file system must be that device.
import { BerthError } from '../errors.ts'
import { fileContentFact, type FileState } from '../facts/file.ts'
import type { Fact, FactValues } from '../facts/fact.ts'
import { escapeMountField, mountsFact, parseMountLine, pathIdentityFact, type MountEntry, type PathIdentity } from '../facts/mounts.ts'
import type { Host } from '../host.ts'
import { sh, type ShellCommand } from '../shell.ts'
import { planContent, type ContentPlan } from './copy.ts'
import { argumentError, checkAbsolutePath, commandOperations } from './file.ts'
import { insertLines, joinLines, splitLines, type Line } from './line-in-file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'

export type MountState = 'mounted' | 'unmounted' | 'present' | 'absent'

export interface MountOptions {
  path: string
  src: string
  fstype: string
  /** Default 'defaults'. */
  opts?: string
  dump?: number
  passno?: number
  state: MountState
  /** Default /etc/fstab. */
  fstab?: string
}

export interface MountPlan extends Plan {
  fstab?: ContentPlan | undefined
  /** Run before the fstab write (umount) … */
  before: ShellCommand[]
  /** … and after it (mkdir, mount). */
  after: ShellCommand[]
}

export const formatFstabLine = (e: MountEntry): string =>
  [escapeMountField(e.source), escapeMountField(e.target), e.fstype, escapeMountField(e.options), e.dump, e.passno].join(' ')

const normalizeTarget = (target: string): string => (target.length > 1 ? target.replace(/\/+$/, '') : target)

const sameEntry = (a: MountEntry, b: MountEntry): boolean =>
  a.source === b.source &&
  normalizeTarget(a.target) === normalizeTarget(b.target) &&
  a.fstype === b.fstype &&
  a.options === b.options &&
  a.dump === b.dump &&
  a.passno === b.passno

/**
 * Pure fstab edit: with an entry, the first line for its mount point becomes it
 * (left alone, spacing included, when its fields already match; later lines for
 * the same mount point go); without one, every line for `target` goes.
 * Comments and other lines are untouched.
 */
export function editFstab(before: string, target: string, entry: MountEntry | undefined): string {
  const lines = splitLines(before)
  const forTarget = (l: Line) => {
    const parsed = parseMountLine(l.text)
    return parsed !== undefined && normalizeTarget(parsed.target) === target
  }
  const matching = lines.flatMap((l, i) => (forTarget(l) ? [i] : []))
  if (entry === undefined) {
    if (matching.length === 0) return before
    return joinLines(lines.filter((l) => !forTarget(l)))
  }
  if (matching.length === 0) {
    insertLines(lines, lines.length, [formatFstabLine(entry)])
    return joinLines(lines)
  }
  const [first, ...duplicates] = matching as [number, ...number[]]
  const current = parseMountLine((lines[first] as Line).text) as MountEntry
  if (sameEntry(current, entry) && duplicates.length === 0) return before
  if (!sameEntry(current, entry)) (lines[first] as Line).text = formatFstabLine(entry)
  return joinLines(lines.filter((_, i) => !duplicates.includes(i)))
}

/** The device node a source names, when it names one (so its identity can be read). */
export function deviceFile(src: string): string | undefined {
  const tag = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(src)
  if (tag) return `/dev/disk/by-${(tag[1] as string).toLowerCase()}/${tag[2]}`
  return src.startsWith('/dev/') ? src : undefined
}

const isBind = (opts: string): boolean => opts.split(',').some((o) => o === 'bind' || o === 'rbind')

export interface MountFacts {
  fstabFile: FileState
  mounts: MountEntry[]
  pathIdentity: PathIdentity | undefined
  srcIdentity: PathIdentity | undefined
}

/** Whether what is mounted at the mount point is the wanted source. */
function mountedFromSrc(entry: MountEntry, wanted: MountEntry, facts: MountFacts): boolean {
  const { pathIdentity, srcIdentity } = facts
  if (isBind(wanted.options))
    return pathIdentity !== undefined && srcIdentity !== undefined && pathIdentity.device === srcIdentity.device && pathIdentity.inode === srcIdentity.inode
  if (srcIdentity?.isBlockDevice) return pathIdentity !== undefined && pathIdentity.device === srcIdentity.deviceNumber
  return entry.source === wanted.source
}

export function planMount(wanted: MountEntry, state: MountState, fstabPath: string, facts: MountFacts): MountPlan {
  const path = wanted.target
  const onPath = facts.mounts.filter((m) => normalizeTarget(m.target) === path)
  // The last one listed is on top: that is what the path shows.
  const top = onPath[onPath.length - 1]
  const keepLine = state === 'mounted' || state === 'present'
  const edit = (before: string | undefined) => {
    if (before === undefined && !keepLine) return undefined
    return editFstab(before ?? '', path, keepLine ? wanted : undefined)
  }
  const fstab = state === 'unmounted' ? undefined : planContent(fstabPath, facts.fstabFile, { edit }, {})
  const before: ShellCommand[] = []
  const after: ShellCommand[] = []
  const notes: string[] = []
  if (fstab?.changed) notes.push(`${fstabPath}: ${fstab.summary}`)

  if (state === 'mounted') {
    if (top) {
      if (!mountedFromSrc(top, wanted, facts))
        throw new BerthError(`${path} is already mounted from ${top.source} (${top.fstype}), not ${wanted.source}`, {
          hint: `berth does not stack mounts: unmount it first (state 'unmounted') or correct src`,
        })
      if (fstab?.changed) notes.push(`already mounted: the new fstab options apply at the next mount`)
    } else {
      after.push(sh`mkdir -p -- ${path}`, sh`mount -t ${wanted.fstype} -o ${wanted.options} -- ${wanted.source} ${path}`)
      notes.push(`mount ${path}`)
    }
  } else if ((state === 'unmounted' || state === 'absent') && top) {
    before.push(sh`umount -- ${path}`)
    notes.push(`umount ${path}`)
  }
  const changed = (fstab?.changed ?? false) || before.length > 0 || after.length > 0
  return {
    changed,
    summary: changed ? notes.join('; ') : `${state} as wanted`,
    diff: fstab?.diff,
    fstab: fstab?.changed ? fstab : undefined,
    before,
    after,
    operations: [...commandOperations(before), ...(fstab?.changed ? (fstab.operations ?? []) : []), ...commandOperations(after)],
  }
}

const STATES: readonly MountState[] = ['mounted', 'unmounted', 'present', 'absent']

export function mount(options: MountOptions): Task {
  const resource = 'mount'
  const path = checkAbsolutePath(resource, 'path', options.path)
  if (path === '/') throw argumentError(resource, 'path', "'/' is not managed by berth")
  if (!STATES.includes(options.state)) throw argumentError(resource, 'state', `must be one of ${STATES.join(', ')} (got ${JSON.stringify(options.state)})`)
  if (typeof options.src !== 'string' || options.src === '' || /[\n\0]/.test(options.src)) throw argumentError(resource, 'src', 'must be a device, a directory or a remote export')
  if (typeof options.fstype !== 'string' || !/^[A-Za-z0-9._+-]+$/.test(options.fstype))
    throw argumentError(resource, 'fstype', `must be a file system type like 'ext4', 'nfs' or 'none' (got ${JSON.stringify(options.fstype)})`)
  const opts = options.opts ?? 'defaults'
  if (typeof opts !== 'string' || opts === '' || /\s/.test(opts)) throw argumentError(resource, 'opts', "must be comma-separated options without spaces, like 'defaults,noatime'")
  for (const [name, value] of [['dump', options.dump], ['passno', options.passno]] as const)
    if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 9)) throw argumentError(resource, name, 'must be an integer from 0 to 9')
  const fstabPath = checkAbsolutePath(resource, 'fstab', options.fstab ?? '/etc/fstab')
  const wanted: MountEntry = { source: options.src, target: path, fstype: options.fstype, options: opts, dump: options.dump ?? 0, passno: options.passno ?? 0 }

  const fstabFact = fileContentFact(fstabPath)
  const pathFact = pathIdentityFact(path)
  const srcFile = isBind(opts) ? options.src : deviceFile(options.src)
  const srcFact: Fact<PathIdentity | undefined> | undefined = srcFile === undefined ? undefined : pathIdentityFact(srcFile)
  const res: Resource<MountPlan> = {
    title: `mount ${path}`,
    facts: () => [fstabFact, mountsFact, pathFact, ...(srcFact ? [srcFact] : [])],
    plan: (facts: FactValues) =>
      planMount(wanted, options.state, fstabPath, {
        fstabFile: facts.get(fstabFact),
        mounts: facts.get(mountsFact),
        pathIdentity: facts.get(pathFact),
        srcIdentity: srcFact ? facts.get(srcFact) : undefined,
      }),
  }
  return task(res)
}
