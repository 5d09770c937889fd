import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { factValues } from '../../../src/facts/fact.ts'
import type { FileState } from '../../../src/facts/file.ts'
import { Host, writeFileCommand, writeFileStdin } from '../../../src/host.ts'
import { aptRepository, sourcesFile } from '../../../src/resources/apt-repository.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { applyPlan } from '../../../src/runner/tasks.ts'

const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBE6XR8IBEACVdDKT2HEH1IyHzXkb4nIWAY7echjRxo7MTcj4vbXAyBKOfjja\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----'
const pgdg = () =>
  aptRepository({ name: 'pgdg', uris: 'https://apt.postgresql.org/pub/repos/apt', suites: 'bookworm-pgdg', components: ['main'], key: KEY, architectures: 'amd64' })

const SOURCES = `Types: deb
URIs: https://apt.postgresql.org/pub/repos/apt
Suites: bookworm-pgdg
Components: main
Architectures: amd64
Signed-By: /etc/apt/keyrings/pgdg.asc
`
const fileWith = (text: string): FileState => {
  const content = Buffer.from(text)
  return { exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content }
}
const planOf = (t: Task, key: FileState, sources: FileState) => {
  const [keyFact, sourcesFact] = t.resource.facts()
  return t.resource.plan(factValues([[keyFact!, key], [sourcesFact!, sources]]))
}

test('deb822 stanza with Signed-By', () => {
  assert.is(sourcesFile({ uris: ['https://apt.postgresql.org/pub/repos/apt'], suites: ['bookworm-pgdg'], components: ['main'], architectures: ['amd64'], keyPath: '/etc/apt/keyrings/pgdg.asc' }), SOURCES)
  assert.not.match(sourcesFile({ uris: ['http://x'], suites: ['./'], components: [], architectures: [], keyPath: '/k' }), /Components|Architectures/)
})

test('fresh host: key dir, key, sources, then apt-get update', async () => {
  const t = pgdg()
  const plan = planOf(t, { exists: false }, { exists: false })
  assert.is(plan.changed, true)
  assert.is(plan.summary, 'key: create /etc/apt/keyrings/pgdg.asc (0644 root:root); sources: create /etc/apt/sources.list.d/pgdg.sources (0644 root:root); apt-get update')
  assert.equal(plan.diff, { path: '/etc/apt/sources.list.d/pgdg.sources', before: '', after: SOURCES })
  const fake = new FakeConnection()
  await applyPlan(new Host({ name: 'h1', address: 'h1', connection: fake }), t, plan)
  assert.equal(fake.commands.map((c) => c.command), [
    'mkdir -p -m 0755 /etc/apt/keyrings',
    writeFileCommand('/etc/apt/keyrings/pgdg.asc', { mode: '0644', owner: 'root', group: 'root', replaces: 'absent' }).text,
    writeFileCommand('/etc/apt/sources.list.d/pgdg.sources', { mode: '0644', owner: 'root', group: 'root', replaces: 'absent' }).text,
    'apt-get update -q',
  ])
  assert.is(fake.commands[1]!.stdin, writeFileStdin(Buffer.from(KEY + '\n')).toString())
  assert.is(fake.commands[2]!.stdin, writeFileStdin(Buffer.from(SOURCES)).toString())
})

test('converged: no change; only the sources changed: one write and the update', async () => {
  const t = pgdg()
  assert.is(planOf(t, fileWith(KEY + '\n'), fileWith(SOURCES)).changed, false)
  const plan = planOf(t, fileWith(KEY + '\n'), fileWith(SOURCES.replace('main', 'main 15')))
  assert.is(plan.summary, 'sources: 1 line changed; apt-get update')
  const fake = new FakeConnection()
  await applyPlan(new Host({ name: 'h1', address: 'h1', connection: fake }), t, plan)
  assert.is(fake.commands.length, 2)
  assert.is(fake.commands[1]!.command, 'apt-get update -q')
})

test('arguments', () => {
  const base = { name: 'pgdg', uris: 'https://x', suites: 'bookworm-pgdg', components: 'main', key: KEY }
  assert.throws(() => aptRepository({ ...base, name: '../evil' }), /argument 'name'/)
  assert.throws(() => aptRepository({ ...base, key: 'not a key' }), /argument 'key' must be an ASCII-armored public key/)
  assert.throws(() => aptRepository({ ...base, uris: [] }), /argument 'uris'/)
  assert.throws(() => aptRepository({ ...base, components: [] }), /argument 'components'/)
  assert.throws(() => aptRepository({ ...base, suites: './', components: 'main' }), /must be empty for a flat repository/)
  assert.is(aptRepository(base).name, 'aptRepository pgdg')
})

test.run()
