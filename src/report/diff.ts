// Unified diffs with the `diff` package (jsdiff): well kept, and it gets hunks and
// "\ No newline at end of file" right.
import { createTwoFilesPatch } from 'diff'
import type { ContentDiff } from '../resources/resource.ts'

export function formatDiff(d: ContentDiff): string {
  const patch = createTwoFilesPatch(`before: ${d.path}`, `after: ${d.path}`, d.before, d.after, undefined, undefined, { context: 3 })
  // The first line is jsdiff's "Index"/separator header; operators expect git-style --- / +++ first.
  return patch.split('\n').filter((l) => !l.startsWith('====')).join('\n').trimEnd()
}
