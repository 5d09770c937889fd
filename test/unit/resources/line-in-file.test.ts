import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import type { FileState } from '../../../src/facts/file.ts'
import { createHash } from 'node:crypto'
import { editLines, lineInFile, splitLines, joinLines, type EditLinesOptions } from '../../../src/resources/line-in-file.ts'
import type { ContentPlan } from '../../../src/resources/copy.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { writeOf } from '../../support/plans.ts'

type Row = [string, string, EditLinesOptions, string]
const rows: Row[] = [
  // present, no regexp
  ['append to a file', 'a\nb\n', { line: 'c' }, 'a\nb\nc\n'],
  ['already there verbatim', 'a\nc\nb\n', { line: 'c' }, 'a\nc\nb\n'],
  ['empty file', '', { line: 'x' }, 'x\n'],
  ['no trailing newline: one is added before the new line', 'a\nb', { line: 'c' }, 'a\nb\nc\n'],
  ['no trailing newline, line present: untouched', 'a\nb', { line: 'b' }, 'a\nb'],
  // regexp
  ['regexp replaces the LAST match', 'port=1\nx\nport=2\n', { regexp: /^port=/, line: 'port=5432' }, 'port=1\nx\nport=5432\n'],
  ['regexp match already equal', 'port=5432\n', { regexp: /^port=/, line: 'port=5432' }, 'port=5432\n'],
  ['regexp no match, line verbatim elsewhere: no change', 'port = 5\nlisten=1\n', { regexp: /^#?listen\s/, line: 'listen=1' }, 'port = 5\nlisten=1\n'],
  ['regexp no match: appended', 'a\n', { regexp: /^port=/, line: 'port=1' }, 'a\nport=1\n'],
  ['regexp matching a commented default', '#PermitRootLogin yes\n', { regexp: /^#?PermitRootLogin\s/, line: 'PermitRootLogin no' }, 'PermitRootLogin no\n'],
  ['global regexp flag is harmless', 'k=1\nk=2\n', { regexp: /^k=/g, line: 'k=3' }, 'k=1\nk=3\n'],
  ['replacing the last line keeps its missing newline', 'a\nk=1', { regexp: /^k=/, line: 'k=2' }, 'a\nk=2'],
  // insertion points
  ['insertAfter: after the last match', '[a]\nx\n[a]\ny\n', { line: 'new', insertAfter: /^\[a\]$/ }, '[a]\nx\n[a]\nnew\ny\n'],
  ['insertAfter no match: end of file', 'a\n', { line: 'new', insertAfter: /^zzz/ }, 'a\nnew\n'],
  ['insertAfter EOF', 'a\n', { line: 'new', insertAfter: 'EOF' }, 'a\nnew\n'],
  ['insertBefore: before the last match', 'a\n# end\nb\n# end\n', { line: 'new', insertBefore: /^# end/ }, 'a\n# end\nb\nnew\n# end\n'],
  ['insertBefore BOF', 'a\n', { line: '#!/bin/sh', insertBefore: 'BOF' }, '#!/bin/sh\na\n'],
  ['insertBefore BOF on an empty file', '', { line: 'x', insertBefore: 'BOF' }, 'x\n'],
  ['insertBefore no match: end of file', 'a\n', { line: 'new', insertBefore: /^zzz/ }, 'a\nnew\n'],
  ['regexp match wins over insertAfter', 'k=1\n[s]\n', { regexp: /^k=/, line: 'k=2', insertAfter: /^\[s\]/ }, 'k=2\n[s]\n'],
  ['insertAfter the last line without newline', 'a\n[s]', { line: 'x', insertAfter: /^\[s\]/ }, 'a\n[s]\nx\n'],
  // absent
  ['absent by regexp removes all matches', 'k=1\na\nk=2\n', { state: 'absent', regexp: /^k=/ }, 'a\n'],
  ['absent by line', 'a\nb\na\n', { state: 'absent', line: 'a' }, 'b\n'],
  ['absent, nothing matches: untouched (same string)', 'a\nb', { state: 'absent', line: 'z' }, 'a\nb'],
  ['absent: last line without newline', 'a\nb', { state: 'absent', line: 'b' }, 'a\n'],
  // CRLF
  ['CRLF lines untouched, new line follows the file style', 'a\r\nb\r\n', { line: 'c' }, 'a\r\nb\r\nc\r\n'],
  ['CRLF: regexp sees the line without \\r, the ending is kept', 'k=1\r\nz\r\n', { regexp: /^k=1$/, line: 'k=2' }, 'k=2\r\nz\r\n'],
  ['CRLF: absent', 'a\r\nb\r\n', { state: 'absent', line: 'a' }, 'b\r\n'],
  ['mixed endings: each line keeps its own', 'a\nb\r\nc\n', { regexp: /^b/, line: 'B' }, 'a\nB\r\nc\n'],
]

for (const [name, before, options, after] of rows)
  test(`editLines: ${name}`, () => {
    const once = editLines(before, options)
    assert.is(once, after)
    assert.is(editLines(once, options), once, 'applying twice is applying once')
  })

test('editLines without a change returns the input itself', () => {
  const text = 'a\nb\n'
  assert.is(editLines(text, { line: 'a' }), text)
})

test('splitLines/joinLines round-trip any text', () => {
  for (const text of ['', 'a', 'a\n', 'a\r\nb', '\n\n', 'a\r\n\r\n', 'x\ry\n']) assert.is(joinLines(splitLines(text)), text, JSON.stringify(text))
})

const state = (text: string): FileState => {
  const content = Buffer.from(text)
  return { exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content }
}
const planOf = (t: Task, s: FileState) => t.resource.plan(factValues([[t.resource.facts()[0]!, s]])) as ContentPlan

test('resource: plan summary and diff from the pure edit', () => {
  const t = lineInFile({ path: '/etc/ssh/sshd_config', regexp: /^#?PermitRootLogin\s/, line: 'PermitRootLogin no', validate: 'sshd -t -f %s' })
  const plan = planOf(t, state('Port 22\n#PermitRootLogin yes\n'))
  assert.is(plan.summary, '1 line changed')
  assert.equal(plan.diff, { path: '/etc/ssh/sshd_config', before: 'Port 22\n#PermitRootLogin yes\n', after: 'Port 22\nPermitRootLogin no\n' })
  assert.is(writeOf(plan)?.validate, 'sshd -t -f %s')
  assert.is(planOf(t, state('Port 22\nPermitRootLogin no\n')).changed, false)
})

test('resource: a missing file is an error unless create; absent on a missing file is fine', () => {
  assert.throws(() => planOf(lineInFile({ path: '/etc/x', line: 'a' }), { exists: false }), /\/etc\/x does not exist/)
  const created = planOf(lineInFile({ path: '/etc/x', line: 'a', create: true, mode: '0600' }), { exists: false })
  assert.equal([created.changed, created.summary, writeOf(created)?.content.toString()], [true, 'create /etc/x (0600)', 'a\n'])
  const absent = planOf(lineInFile({ path: '/etc/x', line: 'a', state: 'absent' }), { exists: false })
  assert.is(absent.changed, false)
})

test('resource: arguments', () => {
  assert.throws(() => lineInFile({ path: '/x' }), /argument 'line' is required with state 'present'/)
  assert.throws(() => lineInFile({ path: '/x', state: 'absent' }), /argument 'regexp' or 'line' is required/)
  assert.throws(() => lineInFile({ path: '/x', line: 'a\nb' }), /must be one line/)
  assert.throws(() => lineInFile({ path: '/x', line: 'a', regexp: '^a' as unknown as RegExp }), /argument 'regexp' must be a RegExp/)
  assert.throws(() => lineInFile({ path: '/x', line: 'a', insertAfter: /a/, insertBefore: /b/ }), /cannot both be given/)
  assert.throws(() => lineInFile({ path: '/x', line: 'a', insertAfter: 'BOF' as 'EOF' }), /must be a RegExp or 'EOF'/)
  assert.is(lineInFile({ path: '/etc/hosts', line: 'a' }).name, 'lineInFile /etc/hosts')
})

test.run()
