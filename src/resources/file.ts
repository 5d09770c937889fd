// `file`: a path's type (directory, link, empty file, nothing) and its mode and
// ownership, never its content (copy, template and the line editors do that).
//
// Also home of what every file-like resource shares: argument checks and the
// mode/owner/group comparison, so copy, template and the editors agree on them.
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BerthError, ConfigError, callSiteOutside } from '../errors.ts'
import { fileFact, normalizeMode, type FileState, type PresentFile } from '../facts/file.ts'
import { fact, predict, type Fact, type FactValues, type Prediction, type ProbeOutput } from '../facts/fact.ts'
import { andThen, quote, sh, ShellCommand } from '../shell.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'
import { runOp, type Operation } from '../operations/operation.ts'

const ENGINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** A mistake in a resource's arguments, pointing at the playbook or role line that made the call. */
export function argumentError(resource: string, argument: string, problem: string, hint?: string): ConfigError {
  const where = callSiteOutside(ENGINE_DIR)
  return new ConfigError(`${resource}: argument '${argument}' ${problem}`, { ...(where ? { where } : {}), ...(hint ? { hint } : {}) })
}

/** An absolute path without trailing slashes ('/' stays '/'). */
export function checkAbsolutePath(resource: string, argument: string, path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw argumentError(resource, argument, `must be an absolute path (got ${JSON.stringify(path)})`)
  if (path.includes('\n') || path.includes('\0')) throw argumentError(resource, argument, 'must not contain a newline or NUL byte')
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : path
}

export interface FileAttributes {
  owner?: string | undefined
  group?: string | undefined
  /** Normalised to four octal digits. */
  mode?: string | undefined
}

const ACCOUNT = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/

/** A user or group name, or a numeric id. */
export function checkAccount(resource: string, argument: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !ACCOUNT.test(value))
    throw argumentError(resource, argument, `must be a user or group name or a numeric id (got ${JSON.stringify(value)})`)
  return value
}

export function checkMode(resource: string, mode: unknown): string | undefined {
  if (mode === undefined) return undefined
  const normalized = typeof mode === 'string' ? normalizeMode(mode) : undefined
  if (!normalized)
    throw argumentError(
      resource,
      'mode',
      `must be an octal string like '0644', '644' or '2775' (got ${typeof mode === 'string' ? `'${mode}'` : String(mode)})`,
      typeof mode === 'number' ? 'write the mode as a string: a number like 644 is decimal, not octal' : undefined,
    )
  return normalized
}

export function checkAttributes(resource: string, options: { owner?: unknown; group?: unknown; mode?: unknown }): FileAttributes {
  return {
    owner: checkAccount(resource, 'owner', options.owner),
    group: checkAccount(resource, 'group', options.group),
    mode: checkMode(resource, options.mode),
  }
}

/** Only the attributes that differ, with their desired values. */
export interface AttributeChanges {
  mode?: string
  owner?: string
  group?: string
}

const sameAccount = (wanted: string, name: string, id: number): boolean => (/^\d+$/.test(wanted) ? Number(wanted) === id : wanted === name)

export function attributeChanges(current: PresentFile, desired: FileAttributes): { changes: AttributeChanges; notes: string[] } {
  const changes: AttributeChanges = {}
  const notes: string[] = []
  if (desired.mode !== undefined && desired.mode !== current.mode) {
    changes.mode = desired.mode
    notes.push(`mode ${current.mode} -> ${desired.mode}`)
  }
  if (desired.owner !== undefined && !sameAccount(desired.owner, current.owner, current.uid)) {
    changes.owner = desired.owner
    notes.push(`owner ${current.owner} -> ${desired.owner}`)
  }
  if (desired.group !== undefined && !sameAccount(desired.group, current.group, current.gid)) {
    changes.group = desired.group
    notes.push(`group ${current.group} -> ${desired.group}`)
  }
  return { changes, notes }
}

export const hasChanges = (changes: AttributeChanges): boolean => Object.keys(changes).length > 0

/** chmod and chown for the attributes given; `-h` changes a link itself rather than its target. */
export function attributeCommands(path: string, changes: AttributeChanges, options: { link?: boolean } = {}): ShellCommand[] {
  const commands: ShellCommand[] = []
  // Five digits: GNU chmod keeps a directory's setgid bit on a four-digit mode like 0755.
  if (changes.mode !== undefined && !options.link) commands.push(sh`chmod ${'0' + changes.mode} -- ${path}`)
  if (changes.owner !== undefined || changes.group !== undefined) {
    const spec = `${changes.owner ?? ''}${changes.group !== undefined ? ':' + changes.group : ''}`
    commands.push(options.link ? sh`chown -h ${spec} -- ${path}` : sh`chown ${spec} -- ${path}`)
  }
  return commands
}

/** '(0644 root:adm)', '(0755)', '' for what is known of a new file's attributes. */
export function describeAttributes(attributes: FileAttributes): string {
  const owner = attributes.owner !== undefined || attributes.group !== undefined ? `${attributes.owner ?? ''}:${attributes.group ?? ''}` : ''
  const parts = [attributes.mode, owner].filter(Boolean)
  return parts.length ? ` (${parts.join(' ')})` : ''
}

/** A plan whose apply is a list of commands, run in one exec. */
export interface CommandsPlan extends Plan {
  commands: ShellCommand[]
}

/** What is at a path a file is to be created in: a directory (links followed), something else, or nothing. */
export type DirectoryState = 'directory' | 'other' | 'absent'

function parseDirectoryProbe(output: ProbeOutput): DirectoryState {
  const word = output.stdout.trim()
  if (output.code === 0 && (word === 'directory' || word === 'other' || word === 'absent')) return word
  throw new Error(output.stderr.trim() || `unexpected output ${JSON.stringify(output.stdout)} (exit ${output.code})`)
}

/**
 * Whether `dir` is a directory a file can be created in (links followed). Shell
 * builtins only: it costs a batch no fork. (A fact: its home is facts/, beside fileFact.)
 */
export function directoryFact(dir: string): Fact<DirectoryState> {
  const d = quote(dir)
  const command = new ShellCommand(`if [ -d ${d} ]; then echo directory; elif [ -e ${d} ] || [ -L ${d} ]; then echo other; else echo absent; fi`)
  return fact(`directory:${dir}`, command, parseDirectoryProbe, { inline: true })
}

/** `mkdir -p` makes the directory and every missing parent. */
function directoriesMade(path: string): Prediction[] {
  const out: Prediction[] = []
  for (let d = path; d !== '/' && d !== '.' && d !== ''; d = dirname(d)) out.push(predict(directoryFact(d), 'directory' as DirectoryState))
  return out
}

/** A list of commands as operations: one command joined with &&, so they cost one exec (none when empty). */
export function commandOperations(commands: readonly ShellCommand[]): Operation[] {
  return commands.length > 0 ? [runOp(andThen(...commands))] : []
}

/** A CommandsPlan with its commands as its operations (what the executor runs). */
export function withCommandOperations<P extends CommandsPlan>(plan: P): P {
  return { ...plan, operations: plan.changed ? commandOperations(plan.commands) : [] }
}

export type FileResourceState = 'file' | 'directory' | 'absent' | 'link' | 'touch'

export interface FileOptions {
  path: string
  /** Default: 'directory' when the path ends with '/', else 'file'. */
  state?: FileResourceState
  owner?: string
  group?: string
  mode?: string
  /** What a link points to (state 'link'). */
  target?: string
}

const STATES: readonly FileResourceState[] = ['file', 'directory', 'absent', 'link', 'touch']

/**
 * - 'file': the file must exist (it is never created: use copy for content, or
 *   'touch'); only mode and ownership are managed.
 * - 'directory': `mkdir -p`, then mode and ownership.
 * - 'touch': created empty when missing; an existing file keeps its timestamps,
 *   so a second run reports no change.
 * - 'link': a symbolic link to `target`, replaced when it points elsewhere.
 * - 'absent': removed, recursively for a directory.
 * For 'file', 'directory' and 'touch' a link at the path is followed, as chmod does.
 */
export function file(options: FileOptions): Task {
  const resource = 'file'
  const path = checkAbsolutePath(resource, 'path', options.path)
  const state = options.state ?? (options.path.endsWith('/') ? 'directory' : 'file')
  if (!STATES.includes(state)) throw argumentError(resource, 'state', `must be one of ${STATES.join(', ')} (got ${JSON.stringify(state)})`)
  const attributes = checkAttributes(resource, options)
  if (state === 'link') {
    if (typeof options.target !== 'string' || options.target === '') throw argumentError(resource, 'target', "is required with state 'link'")
    if (attributes.mode !== undefined) throw argumentError(resource, 'mode', "means nothing for a link (Linux ignores a link's mode)")
  } else if (options.target !== undefined) throw argumentError(resource, 'target', "is only for state 'link'")
  if (state === 'absent' && path === '/') throw argumentError(resource, 'path', "'/' cannot be removed")
  if (state === 'absent' && (attributes.mode || attributes.owner || attributes.group))
    throw argumentError(resource, 'state', "'absent' takes no mode, owner or group")
  const target = options.target ?? ''
  const probe = fileFact(path, { follow: state === 'file' || state === 'directory' || state === 'touch' })

  const res: Resource<CommandsPlan> = {
    title: `file ${path}`,
    facts: () => [probe],
    plan: (facts: FactValues) => withCommandOperations(planFile(path, state, attributes, target, facts.get(probe))),
  }
  return task(res)
}

function wrongType(path: string, current: PresentFile, wanted: string, hint?: string): BerthError {
  return new BerthError(`${path} is a ${current.typeName}, not ${wanted}`, hint ? { hint } : {})
}

/** Pure: from the path's current state to the commands that make it right. */
export function planFile(path: string, state: FileResourceState, attributes: FileAttributes, target: string, current: FileState): CommandsPlan {
  const unchanged = (summary: string): CommandsPlan => ({ changed: false, summary, commands: [] })
  const changedWith = (summary: string, commands: ShellCommand[]): CommandsPlan => ({ changed: true, summary, commands })
  const adjust = (existing: PresentFile, link = false): CommandsPlan => {
    const { changes, notes } = attributeChanges(existing, attributes)
    return hasChanges(changes) ? changedWith(notes.join(', '), attributeCommands(path, changes, { link })) : unchanged(`${existing.typeName} is as wanted`)
  }

  switch (state) {
    case 'absent':
      if (!current.exists) return unchanged('already absent')
      return {
        ...changedWith(`remove ${current.typeName}`, [current.kind === 'directory' ? sh`rm -rf -- ${path}` : sh`rm -f -- ${path}`]),
        predicts: [predict(directoryFact(path), 'absent' as DirectoryState)],
      }
    case 'file':
      if (!current.exists)
        throw new BerthError(`${path} does not exist, and file state 'file' never creates one`, {
          hint: "use copy() to give it content, or state 'touch' to create it empty",
        })
      if (current.kind !== 'file') throw wrongType(path, current, 'a regular file')
      return adjust(current)
    case 'touch':
      if (!current.exists) return changedWith(`create empty file${describeAttributes(attributes)}`, [sh`touch -- ${path}`, ...attributeCommands(path, attributes)])
      return adjust(current)
    case 'directory':
      if (!current.exists)
        return {
          ...changedWith(`create directory${describeAttributes(attributes)}`, [sh`mkdir -p -- ${path}`, ...attributeCommands(path, attributes)]),
          predicts: directoriesMade(path),
        }
      if (current.kind !== 'directory') throw wrongType(path, current, 'a directory', 'remove it first (state absent) if a directory belongs there')
      return adjust(current)
    case 'link': {
      const ownership = { owner: attributes.owner, group: attributes.group }
      if (!current.exists)
        return changedWith(`link -> ${target}`, [sh`ln -s -- ${target} ${path}`, ...attributeCommands(path, ownership, { link: true })])
      if (current.kind !== 'link') throw wrongType(path, current, 'a link', 'remove it first (state absent) if a link belongs there')
      if (current.linkTarget !== target) {
        // -n: replace a link to a directory rather than create a link inside that directory.
        return changedWith(`link -> ${current.linkTarget ?? '?'} becomes -> ${target}`, [
          sh`ln -sfn -- ${target} ${path}`,
          ...attributeCommands(path, ownership, { link: true }),
        ])
      }
      return adjust(current, true)
    }
  }
}
