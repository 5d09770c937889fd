// A file's metadata (and, for resources that manage content, its sha256 and
// content) from one read-only probe. stat does not follow links: a link is
// reported as a link, so no resource writes through one by surprise.
import { createHash } from 'node:crypto'
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { ShellCommand, quote } from '../shell.ts'

/** Files up to this size travel with their content (base64), for diffs and pure edits. */
export const CONTENT_LIMIT = 1024 * 1024

export type FileKind = 'file' | 'directory' | 'link' | 'other'

export interface AbsentFile {
  exists: false
}

export interface PresentFile {
  exists: true
  kind: FileKind
  /** stat's own word for the type ('regular empty file', 'fifo'…), for messages. */
  typeName: string
  /** Four octal digits, special bits included: '0644', '2775'. */
  mode: string
  uid: number
  gid: number
  /** The owner's name, or the uid as text when the uid has no name. */
  owner: string
  group: string
  size: number
  linkTarget?: string | undefined
  /** Regular files only, when the probe asked for content and could read the file. */
  sha256?: string | undefined
  /** Regular files up to CONTENT_LIMIT, when the probe asked for content. */
  content?: Buffer | undefined
}

export type FileState = AbsentFile | PresentFile

// --printf interprets \t and \n itself; %a includes the setuid/setgid/sticky digit.
const STAT_FORMAT = quote('stat\\t%F\\t%a\\t%u\\t%g\\t%U\\t%G\\t%s\\n')

const KINDS: Record<string, FileKind> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'directory',
  'symbolic link': 'link',
}

/** '644', '0644', '2775' -> four octal digits; undefined when it is not an octal mode. */
export function normalizeMode(mode: string): string | undefined {
  if (!/^[0-7]{1,4}$/.test(mode)) return undefined
  return mode.padStart(4, '0')
}

// Forks are most of a probe's cost on the remote side (a converged host runs one
// probe per file in one batch), so a content probe runs two programs: stat, and
// base64 for a file up to CONTENT_LIMIT (its sha256 is then computed here) or
// sha256sum for a larger one. stat's last field, the size, is read from its output.
function probeCommand(path: string, withContent: boolean, follow: boolean): ShellCommand {
  const p = quote(path)
  const lines = follow
    ? [`if [ -e ${p} ]; then`, `  stat -L --printf ${STAT_FORMAT} -- ${p} || exit 1`]
    : withContent
      ? [`if [ -L ${p} ] || [ -e ${p} ]; then`, `  s=$(stat --printf ${STAT_FORMAT} -- ${p}) || exit 1`, `  printf '%s\\n' "$s"`, `  if [ -L ${p} ]; then printf 'target\\t'; readlink -- ${p}; fi`]
      : [`if [ -L ${p} ] || [ -e ${p} ]; then`, `  stat --printf ${STAT_FORMAT} -- ${p} || exit 1`, `  if [ -L ${p} ]; then printf 'target\\t'; readlink -- ${p}; fi`]
  if (withContent)
    lines.push(
      `  if [ -f ${p} ] && [ ! -L ${p} ] && [ -r ${p} ]; then`,
      `    if [ "\${s##*	}" -le ${CONTENT_LIMIT} ]; then printf 'content\\t'; base64 -w0 < ${p}; echo; else printf 'sha256\\t'; sha256sum < ${p}; fi`,
      `  fi`,
    )
  lines.push('else echo absent; fi')
  return new ShellCommand(lines.join('\n'))
}

/** Parse the probe's output (exported for tests on captured output). */
export function parseFileProbe(output: ProbeOutput): FileState {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `probe exited with code ${output.code}`)
  const lines = output.stdout.split('\n')
  if (lines[0] === 'absent') return { exists: false }
  const fields = (lines[0] ?? '').split('\t')
  if (fields[0] !== 'stat' || fields.length !== 8) throw new Error(`unexpected stat output: ${JSON.stringify(lines[0])}`)
  const [, typeName = '', mode = '', uid = '', gid = '', owner = '', group = '', size = ''] = fields
  const normalized = normalizeMode(mode)
  if (!normalized) throw new Error(`unexpected mode ${JSON.stringify(mode)}`)
  const state: PresentFile = {
    exists: true,
    kind: KINDS[typeName] ?? 'other',
    typeName,
    mode: normalized,
    uid: Number(uid),
    gid: Number(gid),
    // stat prints UNKNOWN for an id without a name; the number is then the only name it has.
    owner: owner === 'UNKNOWN' ? uid : owner,
    group: group === 'UNKNOWN' ? gid : group,
    size: Number(size),
  }
  for (const line of lines.slice(1)) {
    const tab = line.indexOf('\t')
    if (tab < 0) continue
    const label = line.slice(0, tab)
    const value = line.slice(tab + 1)
    if (label === 'target') state.linkTarget = value
    else if (label === 'sha256') {
      const hash = value.split(' ')[0] ?? ''
      if (/^[0-9a-f]{64}$/.test(hash)) state.sha256 = hash
    } else if (label === 'content') {
      state.content = Buffer.from(value, 'base64')
      state.sha256 = createHash('sha256').update(state.content).digest('hex')
    }
  }
  return state
}

export interface FileFactOptions {
  /** Report what a link points to instead of the link itself (as chmod and chown act). */
  follow?: boolean
}

/** Metadata only: existence, type, mode, owner, group, size, link target. */
export function fileFact(path: string, options: FileFactOptions = {}): Fact<FileState> {
  const follow = options.follow ?? false
  return fact(`file${follow ? '-follow' : ''}:${path}`, probeCommand(path, false, follow), parseFileProbe)
}

/** Metadata plus sha256 (regular files) and content (regular files up to CONTENT_LIMIT); never follows links. */
export function fileContentFact(path: string): Fact<FileState> {
  return fact(`file+content:${path}`, probeCommand(path, true, false), parseFileProbe)
}
