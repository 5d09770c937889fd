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
