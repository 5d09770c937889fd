// `blockInFile`: a block of lines between two marker lines, kept as given (or
// removed). Pure edit with Ansible's blockinfile semantics; the markers are what
// make a later run find and replace the block.
import { BerthError } from '../errors.ts'
import { argumentError, checkAbsolutePath } from './file.ts'
import { checkContentOptions, contentResource } from './copy.ts'
import {
  checkInsertionPoint,
  editMissingFile,
  insertLines,
  insertionIndex,
  joinLines,
  newlineOf,
  splitLines,
  type InsertionPoint,
  type Line,
} from './line-in-file.ts'
import { task, type Task } from './resource.ts'

export const DEFAULT_MARKER = '# {mark} BERTH MANAGED BLOCK'

export interface EditBlockOptions extends InsertionPoint {
  /** The lines to keep between the markers; a final newline is ignored. Empty: remove the block. */
  block: string
  /** A line with `{mark}`, replaced by markerBegin / markerEnd. */
  marker?: string | undefined
  markerBegin?: string | undefined
  markerEnd?: string | undefined
  state?: 'present' | 'absent' | undefined
}

export function blockMarkers(options: Pick<EditBlockOptions, 'marker' | 'markerBegin' | 'markerEnd'>): { begin: string; end: string } {
  const marker = options.marker ?? DEFAULT_MARKER
  return { begin: marker.replace('{mark}', options.markerBegin ?? 'BEGIN'), end: marker.replace('{mark}', options.markerEnd ?? 'END') }
}

/** Index of the begin and end marker lines, or -1s; a begin without an end is an error, not a guess. */
function findBlock(lines: readonly Line[], begin: string, end: string): { first: number; last: number } {
  const isMarker = (line: Line | undefined, marker: string) => line !== undefined && line.text.trimEnd() === marker
  const first = lines.findIndex((l) => isMarker(l, begin))
  if (first < 0) {
    const orphan = lines.findIndex((l) => isMarker(l, end))
    if (orphan >= 0) throw new BerthError(`line ${orphan + 1} has the marker "${end}" but no "${begin}" comes before it`, { hint: 'repair the file by hand' })
    return { first: -1, last: -1 }
  }
  for (let i = first + 1; i < lines.length; i++) if (isMarker(lines[i], end)) return { first, last: i }
  throw new BerthError(`line ${first + 1} has the marker "${begin}" but no "${end}" follows it`, {
    hint: 'repair the file by hand: berth will not guess where the block ends',
  })
}

/**
 * Pure blockinfile:
 * - present: the markers and block replace an existing marked block, or are inserted
 *   at insertAfter / insertBefore (default: end of file); an empty block removes it;
 * - absent: the marked block, markers included, goes.
 */
export function editBlock(before: string, options: EditBlockOptions): string {
  const { begin, end } = blockMarkers(options)
  const lines = splitLines(before)
  const { first, last } = findBlock(lines, begin, end)
  const body = options.block === '' ? [] : options.block.replace(/\r?\n$/, '').split(/\r?\n/)
  if ((options.state ?? 'present') === 'absent' || body.length === 0) {
    if (first < 0) return before
    lines.splice(first, last - first + 1)
    return joinLines(lines)
  }
  const wanted = [begin, ...body, end]
  if (first >= 0) {
    const current = lines.slice(first, last + 1)
    if (current.length === wanted.length && current.every((l, i) => l.text === wanted[i])) return before
    const eol = newlineOf(lines)
    // The end marker keeps the terminator it had (none at the end of a file without a final newline).
    const finalEol = (lines[last] as Line).eol
    lines.splice(first, last - first + 1, ...wanted.map((text, i) => ({ text, eol: i === wanted.length - 1 ? finalEol : eol })))
    return joinLines(lines)
  }
  insertLines(lines, insertionIndex(lines, options), wanted)
  return joinLines(lines)
}

export interface BlockInFileOptions extends EditBlockOptions {
  path: string
  create?: boolean
  owner?: string
  group?: string
  mode?: string
  validate?: string
  backup?: boolean
}

export function blockInFile(options: BlockInFileOptions): Task {
  const resource = 'blockInFile'
  const path = checkAbsolutePath(resource, 'path', options.path)
  const state = options.state ?? 'present'
  if (state !== 'present' && state !== 'absent') throw argumentError(resource, 'state', "must be 'present' or 'absent'")
  if (typeof options.block !== 'string') throw argumentError(resource, 'block', 'must be a string (use \'\' with state absent)')
  const marker = options.marker ?? DEFAULT_MARKER
  if (typeof marker !== 'string' || !marker.includes('{mark}') || /[\r\n]/.test(marker))
    throw argumentError(resource, 'marker', "must be one line containing '{mark}', e.g. '# {mark} BERTH MANAGED BLOCK'")
  const { begin, end } = blockMarkers(options)
  if (begin === end) throw argumentError(resource, 'markerBegin', 'and markerEnd must differ')
  checkInsertionPoint(resource, options)
  const edit: EditBlockOptions = {
    block: options.block,
    marker,
    markerBegin: options.markerBegin,
    markerEnd: options.markerEnd,
    state,
    insertAfter: options.insertAfter,
    insertBefore: options.insertBefore,
  }
  return task(
    contentResource(
      `blockInFile ${path}`,
      path,
      { edit: editMissingFile(path, options.create ?? false, state === 'absent', (text) => editBlock(text, edit)) },
      // As Ansible's lineinfile/blockinfile: `create` also creates the missing parent directories.
      { ...checkContentOptions(resource, options), makeParents: options.create ?? false },
    ),
  )
}
