// Unified diffs with the `diff` package (jsdiff): well kept, and it gets hunks and
// "\ No newline at end of file" right.
//
// Loaded on the first diff (only --diff needs it): every playbook start would pay for it otherwise.
import { createRequire } from 'node:module'
import type * as Jsdiff from 'diff'
import type { ContentDiff } from '../resources/resource.ts'

let jsdiff: typeof Jsdiff | undefined
const load = (): typeof Jsdiff => (jsdiff ??= createRequire(import.meta.url)('diff') as typeof Jsdiff)

export function formatDiff(d: ContentDiff): string {
  const patch = load().createTwoFilesPatch(`before: ${d.path}`, `after: ${d.path}`, d.before, d.after, undefined, undefined, { context: 3 })
  // The first line is jsdiff's "Index"/separator header; operators expect git-style --- / +++ first.
  return patch.split('\n').filter((l) => !l.startsWith('====')).join('\n').trimEnd()
}

/**
 * How many lines a change touches, for a one-line summary: per run of removed
 * and added lines (jsdiff's line diff), the larger of the two, summed; so two
 * lines edited far apart are 2, not the span between them.
 */
export function countChangedLines(before: string, after: string): number {
  let total = 0
  let removed = 0
  let added = 0
  for (const part of load().diffLines(before, after)) {
    if (part.removed) removed += part.count ?? 0
    else if (part.added) added += part.count ?? 0
    else {
      total += Math.max(removed, added)
      removed = added = 0
    }
  }
  return Math.max(total + Math.max(removed, added), 1)
}
