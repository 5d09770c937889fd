// The "N lines changed" of a copy's summary counts changed lines, not the span
// from the first change to the last (issue: 2 changed lines reported as 5).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { countChangedLines } from '../../src/report/diff.ts'

const lines = (n: number, edit: Record<number, string> = {}): string =>
  Array.from({ length: n }, (_, i) => edit[i] ?? `line ${i}`).join('\n') + '\n'

const cases: [string, string, string, number][] = [
  ['two lines edited four apart are 2', lines(10), lines(10, { 2: 'x', 6: 'y' }), 2],
  ['one line edited is 1', lines(5), lines(5, { 3: 'x' }), 1],
  ['two lines appended are 2', lines(3), lines(5), 2],
  ['two lines removed from the middle are 2', 'a\nb\nc\nd\n', 'a\nd\n', 2],
  ['a line replaced by three is 3', 'a\nb\nc\n', 'a\nx\ny\nz\nc\n', 3],
  ['a new file of 3 lines is 3', '', 'a\nb\nc\n', 3],
  ['a missing final newline is 1', 'a\nb\n', 'a\nb', 1],
]
for (const [name, before, after, n] of cases)
  test(name, () => {
    assert.is(countChangedLines(before, after), n)
  })

test.run()
