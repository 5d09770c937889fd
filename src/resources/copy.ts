// `copy`: a file with exactly this content, mode and ownership.
//
// Also the engine of every resource that owns a file's content (template,
// lineInFile, blockInFile, aptRepository, sysctl, mount's fstab): desired
// content is either fixed or a pure edit of the current content; the plan
// compares, and apply writes content, mode and owner in one atomic writeFile.
import { createHash } from 'node:crypto'
import { dirname } from 'node:path'
import { BerthError } from '../errors.ts'
import { countChangedLines } from '../report/diff.ts'
import { CONTENT_LIMIT, fileContentFact, type FileState, type PresentFile } from '../facts/file.ts'
import { predict, type Fact, type FactValues } from '../facts/fact.ts'
import type { Host, WriteFileOptions } from '../host.ts'
import {
  argumentError,
  attributeChanges,
  attributeCommands,
  checkAbsolutePath,
  checkAttributes,
  describeAttributes,
  directoryFact,
  hasChanges,
  commandOperations,
  type DirectoryState,
  type FileAttributes,
} from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'
import { writeOp } from '../operations/operation.ts'

export interface ContentOptions extends FileAttributes {
  /** Run on the candidate file before it replaces the real one; `%s` is its path. */
  validate?: string | undefined
  /** Keep the previous file as `PATH.<timestamp>.bak`. */
  backup?: boolean | undefined
  /** Keep the content out of the diff and the recorded write (passwords, keys). */
  sensitive?: boolean | undefined
  /** A new file's missing parent directories are created (the editors' `create`, as Ansible's lineinfile); otherwise their absence fails. */
  makeParents?: boolean | undefined
}

/**
 * Fixed content, or a pure edit of the current text (undefined when the file
 * does not exist). An edit returns undefined to leave a missing file missing.
 */
export type DesiredContent = { content: Buffer } | { edit: (before: string | undefined) => string | undefined }

/**
 * Its operations: one write (content and every attribute in one atomic write)
 * when the content differs, a chmod/chown when only mode or ownership do.
 */
export interface ContentPlan extends Plan {
  path: string
}

const HIDDEN = '(content hidden: sensitive)'

/** Text a diff can show: valid UTF-8 without NUL bytes. */
function asText(content: Buffer): string | undefined {
  if (content.includes(0)) return undefined
  const text = content.toString('utf8')
  return Buffer.from(text, 'utf8').equals(content) ? text : undefined
}

export { countChangedLines }

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * A new file needs its directory: as Ansible's copy and template, berth does not
 * create missing parents (a typo in a path fails rather than growing a stray
 * tree). Checked in the plan, so --check fails exactly where the run would.
 */
function needDirectory(path: string, parent: DirectoryState | undefined): void {
  if (parent === undefined || parent === 'directory') return
  const dir = dirname(path)
  throw new BerthError(`cannot create ${path}: its directory ${dir} ${parent === 'absent' ? 'does not exist' : 'is not a directory'}`, {
    hint:
      parent === 'absent'
        ? `create it in an earlier task, file({ path: '${dir}', state: 'directory' }) (--check counts it as made); berth, like Ansible's copy and template, does not create missing parent directories`
        : `${dir} must be a directory for ${path} to be created in it`,
  })
}

/**
 * Pure: compare the file as it is with the content and attributes wanted.
 * `parent` is what is at the file's directory (directoryFact); given, a file that
 * does not exist yet can only be created in a directory.
 */
export function planContent(path: string, current: FileState, desired: DesiredContent, options: ContentOptions, parent?: DirectoryState): ContentPlan {
  if (current.exists && current.kind !== 'file')
    throw new BerthError(`${path} is a ${current.typeName}, not a regular file`, {
      hint: current.kind === 'link' ? `it links to ${current.linkTarget ?? '?'}: manage that path instead` : 'remove it first if a file belongs there',
    })
  if (current.exists && current.sha256 === undefined)
    throw new BerthError(`${path} exists but could not be read`, { hint: 'run the task as a user who can read it (become root?)' })

  const before = current.exists ? current.content : undefined
  let after: Buffer
  if ('content' in desired) after = desired.content
  else {
    if (current.exists && before === undefined)
      throw new BerthError(`${path} is larger than ${CONTENT_LIMIT / 1024 / 1024} MiB: berth edits only smaller files`)
    const edited = desired.edit(before?.toString('utf8'))
    if (edited === undefined) return { changed: false, summary: current.exists ? 'no change' : 'file does not exist: nothing to do', path }
    after = Buffer.from(edited, 'utf8')
  }
  const afterText = asText(after)
  const diffOf = (beforeText: string | undefined) =>
    options.sensitive || beforeText === undefined || afterText === undefined ? undefined : { path, before: beforeText, after: afterText }

  if (!current.exists) {
    const makesParent = options.makeParents === true && parent === 'absent'
    if (!makesParent) needDirectory(path, parent)
    const attributes = { mode: options.mode ?? '0644', owner: options.owner, group: options.group }
    return {
      changed: true,
      summary: `create ${path}${describeAttributes(attributes)}${options.sensitive ? ' ' + HIDDEN : ''}${makesParent ? `, and its directory ${dirname(path)}` : ''}`,
      predicts: [
        ...(makesParent ? [predict(directoryFact(dirname(path)), 'directory' as DirectoryState)] : []),
        predict(fileContentFact(path), writtenState(after, attributes, undefined)),
      ],
      diff: diffOf(''),
      path,
      operations: [writeOp(path, after, { ...writeOptions(attributes, options, false), replaces: 'absent' })],
    }
  }

  const { changes, notes } = attributeChanges(current, options)
  const contentChanged = before ? !before.equals(after) : createHash('sha256').update(after).digest('hex') !== current.sha256
  if (!contentChanged) {
    if (!hasChanges(changes)) return { changed: false, summary: 'content and attributes as wanted', path }
    return { changed: true, summary: notes.join(', '), path, operations: commandOperations(attributeCommands(path, changes)) }
  }
  const beforeText = before ? asText(before) : undefined
  const what = options.sensitive
    ? HIDDEN
    : !before
      ? `content differs (larger than ${CONTENT_LIMIT / 1024 / 1024} MiB: no diff)`
      : beforeText === undefined || afterText === undefined
        ? 'binary content differs'
        : plural(countChangedLines(beforeText, afterText), 'line') + ' changed'
  // The rewrite replaces the inode: the write carries the current mode, owner and group over (chmod and
  // chown --reference, on the host at write time) unless others are wanted.
  const attributes = { mode: options.mode ?? current.mode, owner: options.owner, group: options.group }
  return {
    changed: true,
    summary: [what, ...notes].join(', '),
    diff: diffOf(beforeText),
    predicts: [predict(fileContentFact(path), writtenState(after, attributes, current))],
    path,
    operations: [writeOp(path, after, { ...writeOptions(attributes, options, options.backup ?? false), replaces: current.sha256 })],
  }
}

function writeOptions(attributes: FileAttributes, options: ContentOptions, backup: boolean): WriteFileOptions {
  return {
    mode: attributes.mode,
    owner: attributes.owner,
    group: attributes.group,
    validate: options.validate,
    backup,
    sensitive: options.sensitive,
    makeParents: options.makeParents,
  }
}

/**
 * What the file's content probe will read once a write lands, for --check: the
 * tasks after it (an editor of the same file, say) plan on the content this one
 * would write, not on a file that is not there yet. A new file's owner is the
 * user berth runs as unless one is set; its ids are not known until then.
 */
function writtenState(content: Buffer, attributes: FileAttributes, current: PresentFile | undefined): FileState {
  return {
    exists: true,
    kind: 'file',
    typeName: content.length === 0 ? 'regular empty file' : 'regular file',
    mode: attributes.mode ?? current?.mode ?? '0644',
    uid: current?.uid ?? -1,
    gid: current?.gid ?? -1,
    owner: attributes.owner ?? current?.owner ?? '?',
    group: attributes.group ?? current?.group ?? '?',
    size: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    content: content.length <= CONTENT_LIMIT ? content : undefined,
  }
}

/** Check the options every content resource shares. */
export function checkContentOptions(resource: string, options: ContentOptions): ContentOptions {
  if (options.validate !== undefined && (typeof options.validate !== 'string' || options.validate.trim() === ''))
    throw argumentError(resource, 'validate', "must be a command line, with %s for the candidate file (e.g. 'visudo -cf %s')")
  return {
    ...checkAttributes(resource, options),
    validate: options.validate,
    backup: options.backup,
    sensitive: options.sensitive,
    makeParents: options.makeParents,
  }
}

/** A resource owning one file's content: the shared shape of copy, template and the editors. */
export function contentResource(title: string, path: string, desired: DesiredContent, options: ContentOptions): Resource<ContentPlan> {
  const probe: Fact<FileState> = fileContentFact(path)
  const parent: Fact<DirectoryState> = directoryFact(dirname(path))
  return {
    title,
    facts: () => [probe, parent],
    // Pure plans in tests may leave the directory out: then it is not checked.
    plan: (facts: FactValues) => planContent(path, facts.get(probe), desired, options, facts.has?.(parent) === false ? undefined : facts.get(parent)),
  }
}

export interface CopyOptions {
  path: string
  content: string | Buffer
  owner?: string
  group?: string
  mode?: string
  validate?: string
  backup?: boolean
  sensitive?: boolean
}

export function copy(options: CopyOptions): Task {
  const path = checkAbsolutePath('copy', 'path', options.path)
  if (typeof options.content !== 'string' && !Buffer.isBuffer(options.content))
    throw argumentError('copy', 'content', 'must be a string or a Buffer', 'to render a file from variables, use template()')
  const content = typeof options.content === 'string' ? Buffer.from(options.content, 'utf8') : options.content
  return task(contentResource(`copy ${path}`, path, { content }, checkContentOptions('copy', options)))
}
