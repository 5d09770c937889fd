// `lineInFile`: one line present (or every matching line absent) in a text file.
// The edit is a pure function of the text, with Ansible's lineinfile semantics;
// regexes are JavaScript RegExps run here, never on the host (no dialects).
import { BerthError } from '../errors.ts'
import { argumentError, checkAbsolutePath } from './file.ts'
import { checkContentOptions, contentResource } from './copy.ts'
import { task, type Task } from './resource.ts'

export interface Line {
  text: string
  /** '\n', '\r\n', or '' for a last line without a newline. */
  eol: string
}

/** Lines with their own terminators, so CRLF lines and a missing final newline survive an edit. */
export function splitLines(text: string): Line[] {
  const parts = text.split('\n')
  const last = parts.pop() ?? ''
  const lines = parts.map((part) => (part.endsWith('\r') ? { text: part.slice(0, -1), eol: '\r\n' } : { text: part, eol: '\n' }))
  if (last !== '') lines.push({ text: last, eol: '' })
  return lines
}

export const joinLines = (lines: readonly Line[]): string => lines.map((l) => l.text + l.eol).join('')

/** The file's own line ending (from its first line), for lines berth adds. */
export const newlineOf = (lines: readonly Line[]): string => (lines[0]?.eol === '\r\n' ? '\r\n' : '\n')

/** A copy without the g and y flags, whose lastIndex would make test() stateful. */
export const statelessRegExp = (re: RegExp): RegExp => new RegExp(re.source, re.flags.replace(/[gy]/g, ''))

export function lastMatch(lines: readonly Line[], re: RegExp): number {
  for (let i = lines.length - 1; i >= 0; i--) if (re.test((lines[i] as Line).text)) return i
  return -1
}

export interface InsertionPoint {
  /** After the last line matching it; 'EOF' (the default) or no match: at the end. */
  insertAfter?: RegExp | 'EOF' | undefined
  /** Before the last line matching it; 'BOF': at the beginning; no match: at the end. */
  insertBefore?: RegExp | 'BOF' | undefined
}

export function insertionIndex(lines: readonly Line[], where: InsertionPoint): number {
  if (where.insertBefore === 'BOF') return 0
  if (where.insertBefore instanceof RegExp) {
    const i = lastMatch(lines, statelessRegExp(where.insertBefore))
    return i >= 0 ? i : lines.length
  }
  if (where.insertAfter instanceof RegExp) {
    const i = lastMatch(lines, statelessRegExp(where.insertAfter))
    return i >= 0 ? i + 1 : lines.length
  }
  return lines.length
}

/** Insert new lines (texts) at index, giving an unterminated last line its newline first. */
export function insertLines(lines: Line[], index: number, texts: readonly string[]): void {
  const eol = newlineOf(lines)
  const previous = lines[index - 1]
  if (previous && previous.eol === '') previous.eol = eol
  lines.splice(index, 0, ...texts.map((text) => ({ text, eol })))
}

export interface EditLinesOptions extends InsertionPoint {
  line?: string | undefined
  regexp?: RegExp | undefined
  state?: 'present' | 'absent' | undefined
}

/**
 * Pure lineinfile:
 * - present with regexp: the LAST matching line becomes `line`;
 * - otherwise, when `line` is already there verbatim, nothing changes;
 * - otherwise `line` is inserted at insertAfter / insertBefore (default: end of file);
 * - absent: every line matching regexp (or, without regexp, equal to `line`) goes.
 */
export function editLines(before: string, options: EditLinesOptions): string {
  const lines = splitLines(before)
  const regexp = options.regexp ? statelessRegExp(options.regexp) : undefined
  if ((options.state ?? 'present') === 'absent') {
    const keep = lines.filter((l) => !(regexp ? regexp.test(l.text) : l.text === options.line))
    return keep.length === lines.length ? before : joinLines(keep)
  }
  const line = options.line
  if (line === undefined) throw new Error("editLines: 'line' is required with state 'present'")
  if (regexp) {
    const i = lastMatch(lines, regexp)
    if (i >= 0) {
      const target = lines[i] as Line
      if (target.text === line) return before
      target.text = line
      return joinLines(lines)
    }
  }
  if (lines.some((l) => l.text === line)) return before
  insertLines(lines, insertionIndex(lines, options), [line])
  return joinLines(lines)
}

export interface LineInFileOptions extends EditLinesOptions {
  path: string
  /** Create the file when missing (state present); otherwise a missing file is an error. */
  create?: boolean
  owner?: string
  group?: string
  mode?: string
  validate?: string
  backup?: boolean
}

/** Argument checks shared with blockInFile. */
export function checkInsertionPoint(resource: string, where: InsertionPoint): void {
  if (where.insertAfter !== undefined && where.insertBefore !== undefined)
    throw argumentError(resource, 'insertAfter', 'and insertBefore cannot both be given')
  if (where.insertAfter !== undefined && where.insertAfter !== 'EOF' && !(where.insertAfter instanceof RegExp))
    throw argumentError(resource, 'insertAfter', "must be a RegExp or 'EOF'")
  if (where.insertBefore !== undefined && where.insertBefore !== 'BOF' && !(where.insertBefore instanceof RegExp))
    throw argumentError(resource, 'insertBefore', "must be a RegExp or 'BOF'")
}

/** The edit a file resource applies: missing files are created only when asked. */
export function editMissingFile(
  path: string,
  create: boolean,
  absent: boolean,
  edit: (text: string) => string,
): (before: string | undefined) => string | undefined {
  return (before: string | undefined): string | undefined => {
    if (before === undefined) {
      if (absent) return undefined
      if (!create) throw new BerthError(`${path} does not exist`, { hint: 'pass create: true to create it' })
      return edit('')
    }
    return edit(before)
  }
}

export function lineInFile(options: LineInFileOptions): Task {
  const resource = 'lineInFile'
  const path = checkAbsolutePath(resource, 'path', options.path)
  const state = options.state ?? 'present'
  if (state !== 'present' && state !== 'absent') throw argumentError(resource, 'state', "must be 'present' or 'absent'")
  if (options.regexp !== undefined && !(options.regexp instanceof RegExp)) throw argumentError(resource, 'regexp', 'must be a RegExp')
  if (options.line !== undefined && (typeof options.line !== 'string' || /[\r\n]/.test(options.line)))
    throw argumentError(resource, 'line', 'must be one line of text (no newline); use blockInFile for several lines')
  if (state === 'present' && options.line === undefined) throw argumentError(resource, 'line', "is required with state 'present'")
  if (state === 'absent' && options.line === undefined && options.regexp === undefined)
    throw argumentError(resource, 'regexp', "or 'line' is required with state 'absent'")
  checkInsertionPoint(resource, options)
  const edit: EditLinesOptions = {
    line: options.line,
    regexp: options.regexp,
    state,
    insertAfter: options.insertAfter,
    insertBefore: options.insertBefore,
  }
  return task(
    contentResource(
      `lineInFile ${path}`,
      path,
      { edit: editMissingFile(path, options.create ?? false, state === 'absent', (text) => editLines(text, edit)) },
      // As Ansible's lineinfile/blockinfile: `create` also creates the missing parent directories.
      { ...checkContentOptions(resource, options), makeParents: options.create ?? false },
    ),
  )
}
