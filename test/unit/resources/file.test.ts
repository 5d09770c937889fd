import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError } from '../../../src/errors.ts'
import { factValues } from '../../../src/facts/fact.ts'
import type { FileState, PresentFile } from '../../../src/facts/file.ts'
import { file } from '../../../src/resources/file.ts'
import type { Plan, Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const present = (over: Partial<PresentFile> = {}): PresentFile => ({
  exists: true,
  kind: 'file',
  typeName: 'regular file',
  mode: '0644',
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  size: 3,
  ...over,
})
const dir = (over: Partial<PresentFile> = {}) => present({ kind: 'directory', typeName: 'directory', mode: '0755', ...over })
const link = (target: string) => present({ kind: 'link', typeName: 'symbolic link', mode: '0777', linkTarget: target })
const absent: FileState = { exists: false }

const planOf = (t: Task, state: FileState): Plan => t.resource.plan(factValues([[t.resource.facts()[0]!, state]]))


type Row = [string, Task, FileState, boolean, string, string[]]
const rows: Row[] = [
  ['directory missing', file({ path: '/srv/data/', mode: '2775', owner: 'postgres', group: 'postgres' }), absent, true, 'create directory (2775 postgres:postgres)', [
    'mkdir -p -- /srv/data && chmod 02775 -- /srv/data && chown postgres:postgres -- /srv/data',
  ]],
  ['directory as wanted', file({ path: '/srv/data', state: 'directory', mode: '755' }), dir(), false, 'directory is as wanted', []],
  ['directory mode differs: setgid cleared with 5 digits', file({ path: '/srv/data', state: 'directory', mode: '0755' }), dir({ mode: '2755' }), true, 'mode 2755 -> 0755', [
    'chmod 00755 -- /srv/data',
  ]],
  ['file mode and owner differ', file({ path: '/etc/x', mode: '0640', owner: 'postgres' }), present({ mode: '0600' }), true, 'mode 0600 -> 0640, owner root -> postgres', [
    'chmod 00640 -- /etc/x && chown postgres -- /etc/x',
  ]],
  ['numeric owner compares with uid', file({ path: '/etc/x', owner: '0', group: '4' }), present({ group: 'adm', gid: 4 }), false, 'regular file is as wanted', []],
  ['only group differs', file({ path: '/etc/x', group: 'adm' }), present(), true, 'group root -> adm', ['chown :adm -- /etc/x']],
  ['touch missing', file({ path: '/var/log/x.log', state: 'touch', mode: '0600' }), absent, true, 'create empty file (0600)', [
    'touch -- /var/log/x.log && chmod 00600 -- /var/log/x.log',
  ]],
  ['touch existing keeps timestamps', file({ path: '/var/log/x.log', state: 'touch' }), present(), false, 'regular file is as wanted', []],
  ['absent file', file({ path: '/etc/x', state: 'absent' }), present(), true, 'remove regular file', ['rm -f -- /etc/x']],
  ['absent directory: recursive', file({ path: '/srv/old', state: 'absent' }), dir(), true, 'remove directory', ['rm -rf -- /srv/old']],
  ['already absent', file({ path: '/etc/x', state: 'absent' }), absent, false, 'already absent', []],
  ['new link', file({ path: '/etc/alt', state: 'link', target: '/opt/a b' }), absent, true, 'link -> /opt/a b', ["ln -s -- '/opt/a b' /etc/alt"]],
  ['link elsewhere', file({ path: '/etc/alt', state: 'link', target: '/opt/b' }), link('/opt/a'), true, 'link -> /opt/a becomes -> /opt/b', ['ln -sfn -- /opt/b /etc/alt']],
  ['link right, owner by -h', file({ path: '/etc/alt', state: 'link', target: '/opt/b', owner: 'ann' }), link('/opt/b'), true, 'owner root -> ann', ['chown -h ann -- /etc/alt']],
  ['link as wanted', file({ path: '/etc/alt', state: 'link', target: '/opt/b' }), link('/opt/b'), false, 'symbolic link is as wanted', []],
]

for (const [name, t, state, changed, summary, commands] of rows)
  test(`plan and apply: ${name}`, async () => {
    const plan = planOf(t, state)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
    assert.equal(operationsOf(plan), commands)
  })

test("state 'file' never creates, and wrong types are errors with a hint", () => {
  assert.throws(() => planOf(file({ path: '/etc/x' }), absent), /does not exist, and file state 'file' never creates one/)
  assert.throws(() => planOf(file({ path: '/etc/x' }), dir()), /is a directory, not a regular file/)
  assert.throws(() => planOf(file({ path: '/etc/x/', mode: '0755' }), present()), /is a regular file, not a directory/)
  assert.throws(() => planOf(file({ path: '/etc/x', state: 'link', target: '/y' }), present()), /is a regular file, not a link/)
})

test('default state: directory for a trailing slash, else file; titles', () => {
  const t = file({ path: '/srv/x/' })
  assert.is(t.name, 'file /srv/x')
  assert.ok(t.resource.facts()[0]!.key.endsWith(':/srv/x'))
  assert.is(planOf(t, absent).summary, 'create directory')
  assert.is(planOf(file({ path: '/srv/y', mode: '0600' }), present()).summary, 'mode 0644 -> 0600')
})

test('chains like any task', () => {
  const t = file({ path: '/srv/x/' }).tags('storage')
  assert.equal(t.options.tags, ['storage'])
})

const bad: [string, () => unknown, RegExp][] = [
  ['relative path', () => file({ path: 'etc/x' }), /file: argument 'path' must be an absolute path/],
  ['mode 999', () => file({ path: '/x', mode: '999' }), /argument 'mode' must be an octal string/],
  ['mode rwx', () => file({ path: '/x', mode: 'rwx' }), /argument 'mode'/],
  ['numeric mode', () => file({ path: '/x', mode: 644 as unknown as string }), /argument 'mode'/],
  ['owner with a colon', () => file({ path: '/x', owner: 'a:b' }), /argument 'owner'/],
  ['link without target', () => file({ path: '/x', state: 'link' }), /argument 'target' is required/],
  ['target without link', () => file({ path: '/x', target: '/y' }), /argument 'target' is only for state 'link'/],
  ['unknown state', () => file({ path: '/x', state: 'present' as 'file' }), /argument 'state' must be one of/],
  ['remove /', () => file({ path: '/', state: 'absent' }), /'\/' cannot be removed/],
]
for (const [name, build, message] of bad)
  test(`ConfigError at construction: ${name}`, () => {
    try {
      build()
      assert.unreachable('should have thrown')
    } catch (e) {
      assert.instance(e, ConfigError)
      assert.match((e as Error).message, message)
      // Points at this test file: the line that made the call.
      assert.match((e as ConfigError).where ?? '', /file\.test\.ts:\d+$/)
    }
  })

test.run()
