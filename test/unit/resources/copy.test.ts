import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { ConfigError } from '../../../src/errors.ts'
import { factValues } from '../../../src/facts/fact.ts'
import type { FileState, PresentFile } from '../../../src/facts/file.ts'
import { Host, writeFileCommand, writeFileStdin } from '../../../src/host.ts'
import { copy, countChangedLines, type ContentPlan } from '../../../src/resources/copy.ts'
import type { Plan, Task } from '../../../src/resources/resource.ts'
import { applyPlan } from '../../../src/runner/tasks.ts'
import { writeOf } from '../../support/plans.ts'
const sha256Of = (text: string): string => createHash('sha256').update(text).digest('hex')

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const withContent = (content: string | Buffer, over: Partial<PresentFile> = {}): PresentFile => {
  const buf = Buffer.from(content)
  return { exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: buf.length, sha256: sha(buf), content: buf, ...over }
}
const absent: FileState = { exists: false }

const planOf = (t: Task, state: FileState) => t.resource.plan(factValues([[t.resource.facts()[0]!, state]])) as ContentPlan

async function run(t: Task, plan: Plan) {
  const fake = new FakeConnection()
  await applyPlan(new Host({ name: 'h1', address: 'h1', connection: fake }), t, plan)
  return fake.commands
}

type Row = [string, Task, FileState, boolean, string]
const rows: Row[] = [
  ['new file: default mode', copy({ path: '/etc/motd', content: 'hi\n' }), absent, true, 'create /etc/motd (0644)'],
  ['new file with owner', copy({ path: '/etc/motd', content: 'hi\n', owner: 'root', group: 'adm', mode: '640' }), absent, true, 'create /etc/motd (0640 root:adm)'],
  ['same content', copy({ path: '/etc/motd', content: 'hi\n' }), withContent('hi\n'), false, 'content and attributes as wanted'],
  ['one line changed', copy({ path: '/etc/motd', content: 'a\nB\nc\n' }), withContent('a\nb\nc\n'), true, '1 line changed'],
  ['two lines changed and mode', copy({ path: '/etc/motd', content: 'a\nB\nC\n', mode: '0600' }), withContent('a\nb\nc\n'), true, '2 lines changed, mode 0644 -> 0600'],
  ['mode only', copy({ path: '/etc/motd', content: 'hi\n', mode: '0600' }), withContent('hi\n'), true, 'mode 0644 -> 0600'],
  ['sensitive', copy({ path: '/etc/secret', content: 'pw=2\n', sensitive: true }), withContent('pw=1\n'), true, '(content hidden: sensitive)'],
  ['sensitive new', copy({ path: '/etc/secret', content: 'pw=2\n', sensitive: true, mode: '0600' }), absent, true, 'create /etc/secret (0600) (content hidden: sensitive)'],
  ['binary', copy({ path: '/bin/x', content: Buffer.from([0, 1, 2]) }), withContent(Buffer.from([0, 1, 3])), true, 'binary content differs'],
]
for (const [name, t, state, changed, summary] of rows)
  test(`plan: ${name}`, () => {
    const plan = planOf(t, state)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
  })

test('diff: before is empty for a new file; none when sensitive or binary', () => {
  assert.equal(planOf(copy({ path: '/etc/motd', content: 'hi\n' }), absent).diff, { path: '/etc/motd', before: '', after: 'hi\n' })
  assert.equal(planOf(copy({ path: '/etc/motd', content: 'b\n' }), withContent('a\n')).diff, { path: '/etc/motd', before: 'a\n', after: 'b\n' })
  assert.is(planOf(copy({ path: '/etc/s', content: 'b\n', sensitive: true }), withContent('a\n')).diff, undefined)
  assert.is(planOf(copy({ path: '/etc/s', content: 'b\n', sensitive: true }), absent).diff, undefined)
  assert.is(planOf(copy({ path: '/x', content: Buffer.from([0]) }), absent).diff, undefined)
})

test('a file over 1 MiB is compared by sha256, without a diff', () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 'x')
  const remote = withContent(big)
  delete remote.content
  assert.is(planOf(copy({ path: '/x', content: big }), remote).changed, false)
  const other = planOf(copy({ path: '/x', content: Buffer.alloc(10, 'y') }), remote)
  assert.equal([other.changed, other.summary, other.diff], [true, 'content differs (larger than 1 MiB: no diff)', undefined])
})

test('apply: one atomic write with content, mode and owner, carrying current attributes over', async () => {
  const t = copy({ path: '/etc/app.conf', content: 'new\n', group: 'adm', validate: 'app --check %s', backup: true })
  const cmds = await run(t, planOf(t, withContent('old\n', { mode: '0640', owner: 'app', uid: 999 })))
  assert.is(cmds.length, 1)
  assert.is(cmds[0]!.command, writeFileCommand('/etc/app.conf', { mode: '0640', group: 'adm', validate: 'app --check %s', backup: true, replaces: sha256Of('old\n') }).text)
  // The owner is carried over on the host (chown --reference), as it is at the moment of the write.
  assert.match(cmds[0]!.command, /chown --reference=\/etc\/app\.conf "\$tmp"/)
  assert.is(cmds[0]!.stdin, writeFileStdin(Buffer.from('new\n')).toString())
})

test('apply: a new file gets 0644 and no backup', async () => {
  const t = copy({ path: '/etc/new', content: 'x', backup: true })
  const cmds = await run(t, planOf(t, absent))
  assert.is(cmds[0]!.command, writeFileCommand('/etc/new', { mode: '0644', replaces: 'absent' }).text)
})

test('apply: attributes only -> chmod/chown in one exec, no write', async () => {
  const t = copy({ path: '/etc/x', content: 'hi\n', mode: '0600', owner: 'ann' })
  const cmds = await run(t, planOf(t, withContent('hi\n')))
  assert.equal(cmds.map((c) => c.command), ['chmod 00600 -- /etc/x && chown ann -- /etc/x'])
})

test('idempotent: the content written is the content planned against', () => {
  const t = copy({ path: '/etc/x', content: 'a\nb\n', mode: '0600' })
  const first = planOf(t, withContent('old'))
  const written = writeOf(first)!.content
  assert.is(planOf(t, withContent(written, { mode: writeOf(first)!.mode! })).changed, false)
})

test('refuses to write through links, into directories, or over unreadable files', () => {
  const t = copy({ path: '/etc/resolv.conf', content: 'x' })
  assert.throws(() => planOf(t, { ...withContent(''), kind: 'link', typeName: 'symbolic link', linkTarget: '/run/resolv.conf' }), /is a symbolic link, not a regular file/)
  assert.throws(() => planOf(t, { ...withContent(''), kind: 'directory', typeName: 'directory' }), /is a directory/)
  const unreadable = withContent('')
  delete unreadable.sha256
  delete unreadable.content
  assert.throws(() => planOf(t, unreadable), /could not be read/)
})

test('countChangedLines', () => {
  assert.is(countChangedLines('a\nb\nc\n', 'a\nx\nc\n'), 1)
  assert.is(countChangedLines('a\n', 'a\nb\nc\n'), 2)
  assert.is(countChangedLines('a\nb\nc\n', 'c\n'), 2)
  assert.is(countChangedLines('a', 'a\n'), 1)
})

test('arguments', () => {
  assert.throws(() => copy({ path: 'motd', content: '' }), (e: unknown) => e instanceof ConfigError)
  assert.throws(() => copy({ path: '/motd', content: 1 as unknown as string }), /copy: argument 'content' must be a string or a Buffer/)
  assert.throws(() => copy({ path: '/motd', content: '', validate: ' ' }), /argument 'validate'/)
  assert.is(copy({ path: '/etc/motd/', content: '' }).name, 'copy /etc/motd')
})

test.run()
