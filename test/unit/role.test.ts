import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { coerceLike, defineRole } from '../../src/role.ts'
import { RoleOptionError } from '../../src/errors.ts'
import { Host } from '../../src/host.ts'
import { LocalConnection } from '../../src/connection/local.ts'
import { note } from '../support/note-resource.ts'

interface GreeterOptions {
  dir: string
  greeting: string
  port: number
}

const greeter = defineRole<GreeterOptions, { greeting: string; port: number }>({
  name: 'greeter',
  defaults: { greeting: 'hello', port: 8080 },
  required: ['dir'],
  validate: (o, fail) => {
    if (!o.dir.startsWith('/')) fail('dir', `must be an absolute path, got '${o.dir}'`)
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) fail('port', `must be a TCP port (1-65535), got ${o.port}`)
  },
  tasks: (o) => [note(join(o.dir, 'greeting'), `${o.greeting}\n`).named('greeting'), note(join(o.dir, 'port'), `${o.port}\n`).named('port')],
})

test('defaults merge under given options; task names carry the role', () => {
  const r = greeter({ dir: '/srv', port: 81 })
  assert.equal(r.tasks.map((t) => t.name), ['greeter : greeting', 'greeter : port'])
  assert.equal(greeter.resolve({ dir: '/srv' }), { dir: '/srv', greeting: 'hello', port: 8080 })
})

test('a missing or bad option fails naming the role and the option', () => {
  // @ts-expect-error: dir is required, the compiler says so too
  assert.throws(() => greeter({}), (e: unknown) => e instanceof RoleOptionError && /role greeter: option 'dir' is missing/.test(e.message))
  assert.throws(() => greeter({ dir: 'rel' }), /role greeter: option 'dir' must be an absolute path/)
  assert.throws(() => greeter({ dir: '/x', port: 0 }), /option 'port' must be a TCP port/)
})

test('role.check reports drift without changing anything; role.apply converges', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-role-'))
  try {
    const host = new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
    const drift = await greeter.check(host, { dir })
    assert.equal(drift.map((r) => r.status), ['changed', 'changed'])
    assert.throws(() => readFileSync(join(dir, 'greeting')))
    await greeter.apply(host, { dir })
    assert.is(readFileSync(join(dir, 'greeting'), 'utf8'), 'hello\n')
    const again = await greeter.check(host, { dir })
    assert.equal(again.map((r) => r.status), ['ok', 'ok'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('-e text becomes the number or boolean an option defaults to, and nothing else', () => {
  assert.is(coerceLike(5432, '5433'), 5433)
  assert.is(coerceLike(1.5, ' 2.25 '), 2.25)
  assert.is(coerceLike(false, 'true'), true)
  assert.is(coerceLike(true, 'No'), false)
  assert.is(coerceLike(false, 'maybe'), 'maybe', 'left for validation to refuse')
  assert.is(coerceLike(5432, '54x'), '54x')
  assert.is(coerceLike('main', '15'), '15', 'a text option stays text')
  assert.is(coerceLike(undefined, 'true'), 'true', 'no default: no guess')
  assert.is(coerceLike(10, 7), 7)
  assert.is(greeter({ dir: '/x', port: '8080' as unknown as number }).tasks.length > 0, true)
  assert.throws(() => greeter({ dir: '/x', port: 'eighty' as unknown as number }), /option 'port'/)
})

test.run()
