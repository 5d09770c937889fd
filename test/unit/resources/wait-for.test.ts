import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { BerthError } from '../../../src/errors.ts'
import { Host } from '../../../src/host.ts'
import { connectProbe, isLocalAddress, waitFor } from '../../../src/resources/wait-for.ts'
import { applyPlan } from '../../../src/runner/tasks.ts'

const CLOSED = 'LISTEN 0      128       0.0.0.0:2024  0.0.0.0:*\n'
const OPEN = CLOSED + 'LISTEN 0      244     127.0.0.1:5432  0.0.0.0:*\n'

/** A fake whose answers follow a script, one per call, the last one repeating. */
function scripted(answers: { code?: number; stdout?: string; stderr?: string }[]) {
  let i = 0
  const fake = new FakeConnection().on(/.*/, () => answers[Math.min(i++, answers.length - 1)]!)
  return { fake, host: new Host({ name: 'h1', address: 'h1', connection: fake }) }
}

test('port opens on the third probe: no change, timed summary, ss probes only', async () => {
  const { fake, host } = scripted([{ stdout: CLOSED }, { stdout: CLOSED }, { stdout: OPEN }])
  const t = waitFor({ port: 5432 }, { intervalMs: 5, timeoutMs: 5000 })
  const plan = await t.resource.check!(host)
  assert.is(plan.changed, false)
  assert.match(plan.summary ?? '', /^port 5432 open after \d+\.\d s$/)
  assert.equal(fake.commands.map((c) => c.command), ['ss -Htln', 'ss -Htln', 'ss -Htln'])
  assert.is(t.name, 'waitFor port 5432')
})

test('timeout: a clear error naming host, port and time', async () => {
  const { host } = scripted([{ stdout: CLOSED }])
  const t = waitFor({ port: 5432 }, { intervalMs: 5, timeoutMs: 30 })
  try {
    await t.resource.check!(host)
    assert.unreachable()
  } catch (e) {
    assert.instance(e, BerthError)
    assert.is((e as Error).message, 'h1: port 5432 still not open after 0.0 s')
  }
})

test('stopped: waits until nothing listens', async () => {
  const { fake, host } = scripted([{ stdout: OPEN }, { stdout: CLOSED }])
  const plan = await waitFor({ port: 5432, state: 'stopped' }, { intervalMs: 5 }).resource.check!(host)
  assert.match(plan.summary ?? '', /^port 5432 closed after/)
  assert.is(fake.commands.length, 2)
})

test('a non-local address: a TCP connect from the host with perl-base', async () => {
  const { fake, host } = scripted([{ code: 1 }, { code: 0 }])
  const plan = await waitFor({ port: 5432, host: '10.0.0.2' }, { intervalMs: 5 }).resource.check!(host)
  assert.match(plan.summary ?? '', /^port 5432 on 10\.0\.0\.2 open after/)
  assert.is(fake.commands[0]!.command, connectProbe('10.0.0.2', 5432, 1).text)
  assert.match(fake.commands[0]!.command, /^perl -e 'use IO::Socket::INET;/)
})

test('no perl: an error, not an endless wait', async () => {
  const { host } = scripted([{ code: 127, stderr: 'sh: 1: perl: not found' }])
  try {
    await waitFor({ port: 5432, host: '10.0.0.2' }, { intervalMs: 5 }).resource.check!(host)
    assert.unreachable()
  } catch (e) {
    assert.match((e as Error).message, /cannot probe 10\.0\.0\.2:5432: sh: 1: perl: not found/)
  }
})

test('command: waits for exit 0, the last output in the timeout hint', async () => {
  const ok = scripted([{ code: 2, stderr: 'no response' }, { code: 0 }])
  const plan = await waitFor({ command: 'pg_isready -q' }, { intervalMs: 5 }).resource.check!(ok.host)
  assert.match(plan.summary ?? '', /^command pg_isready -q succeeded after/)
  const never = scripted([{ code: 2, stderr: 'no response' }])
  try {
    await waitFor({ command: 'pg_isready -q' }, { intervalMs: 5, timeoutMs: 20 }).resource.check!(never.host)
    assert.unreachable()
  } catch (e) {
    assert.match((e as Error).message, /h1: command pg_isready -q still failing after/)
    assert.is((e as BerthError).hint, 'last output: no response')
  }
})

test('read-only: no facts, apply does nothing', async () => {
  const t = waitFor({ port: 80 })
  assert.equal(t.resource.facts(), [])
  const fake = new FakeConnection()
  await applyPlan(new Host({ name: 'h1', address: 'h1', connection: fake }), t, { changed: false })
  assert.is(fake.commands.length, 0)
})

test('local addresses', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0.0.0.0', '::']) assert.ok(isLocalAddress(a), a)
  for (const a of ['10.0.0.2', 'db1', '::ffff:10.0.0.2']) assert.not.ok(isLocalAddress(a), a)
})

test('arguments', () => {
  assert.throws(() => waitFor({ port: 0 }), /waitFor: argument 'port'/)
  assert.throws(() => waitFor({ port: 70000 }), /argument 'port'/)
  assert.throws(() => waitFor({ port: 80, host: 'a b' }), /argument 'host'/)
  assert.throws(() => waitFor({ port: 80 }, { timeoutMs: -1 }), /argument 'timeoutMs'/)
  assert.throws(() => waitFor({ command: '' }), /argument 'command'/)
  assert.throws(() => waitFor({} as { command: string }), /argument 'target'/)
})

test.run()
