import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { BerthError } from '../../../src/errors.ts'
import { Host } from '../../../src/host.ts'
import { spawnSync } from 'node:child_process'
import { connectProbe, isLocalAddress, listeningProbe, waitFor } from '../../../src/resources/wait-for.ts'
import { hostState, runTask, type TaskRunResult } from '../../../src/runner/tasks.ts'
import { factValues } from '../../../src/facts/fact.ts'
import { waitOp } from '../../../src/operations/operation.ts'

/** A fake whose answers follow a script, one per call, the last one repeating. */
function scripted(answers: { code?: number; stdout?: string; stderr?: string }[]) {
  let i = 0
  const fake = new FakeConnection().on(/.*/, () => answers[Math.min(i++, answers.length - 1)]!)
  return { fake, host: new Host({ name: 'h1', address: 'h1', connection: fake }) }
}

/** Run the task as the runner does (a read-only task: its plan's operations, also in --check). */
async function waited(t: ReturnType<typeof waitFor>, host: Host): Promise<TaskRunResult> {
  return runTask(hostState(host), t, { check: true, ahead: [t] })
}

test('port opens on the third probe: ok in --check too, timed summary, one probe per poll', async () => {
  const { fake, host } = scripted([{ code: 1 }, { code: 1 }, { code: 0 }])
  const t = waitFor({ port: 5432 }, { intervalMs: 5, timeoutMs: 5000 })
  const r = await waited(t, host)
  assert.is(r.status, 'ok')
  assert.match(r.plan?.summary ?? '', /^port 5432 open after \d+\.\d s$/)
  assert.equal(fake.commands.map((c) => c.command), Array(3).fill(listeningProbe('127.0.0.1', 5432).text))
  assert.is(t.name, 'waitFor port 5432')
})

test('the plan is one wait operation, so a runbook shows the wait', () => {
  const plan = waitFor({ port: 5432 }, { intervalMs: 500, timeoutMs: 30000, delayMs: 1000 }).resource.plan(factValues([]))
  assert.equal(plan.operations, [waitOp(listeningProbe('127.0.0.1', 5432), 'port 5432 open', { intervalMs: 500, timeoutMs: 30000, delayMs: 1000 })])
})

test('timeout: a clear error naming host, what and time; the last output in the hint', async () => {
  const { host } = scripted([{ code: 2, stderr: 'no response' }])
  const r = await waited(waitFor({ command: 'pg_isready -q' }, { intervalMs: 5, timeoutMs: 30 }), host)
  assert.is(r.status, 'failed')
  assert.instance(r.error, BerthError)
  assert.is(r.error?.message, 'h1: waited 0.0 s, and still not: command pg_isready -q succeeds')
  assert.is((r.error as BerthError).hint, 'last output of the probe: no response')
})

test('stopped: the probe is negated, so it succeeds once nothing listens', async () => {
  const { fake, host } = scripted([{ code: 1 }, { code: 0 }])
  const r = await waited(waitFor({ port: 5432, state: 'stopped' }, { intervalMs: 5 }), host)
  assert.match(r.plan?.summary ?? '', /^port 5432 closed after/)
  assert.is(fake.commands[0]!.command, `! ${listeningProbe('127.0.0.1', 5432).text}`)
})

test('a non-local address: a TCP connect from the host with perl-base', async () => {
  const { fake, host } = scripted([{ code: 1 }, { code: 0 }])
  const r = await waited(waitFor({ port: 5432, host: '10.0.0.2' }, { intervalMs: 5 }), host)
  assert.match(r.plan?.summary ?? '', /^port 5432 on 10\.0\.0\.2 open after/)
  assert.is(fake.commands[0]!.command, connectProbe('10.0.0.2', 5432, 1).text)
  assert.match(fake.commands[0]!.command, /^perl -e 'use IO::Socket::INET;/)
})

test('the listening probe on real ss output (awk on this machine): address, wildcard, IPv6, scope, other ports', () => {
  const ss = [
    'LISTEN 0      128       0.0.0.0:2024  0.0.0.0:*',
    'LISTEN 0      244     127.0.0.1:5432  0.0.0.0:*',
    'LISTEN 0      511          [::]:80       [::]:*',
    'LISTEN 0      4096 127.0.0.53%lo:53   0.0.0.0:*',
    'LISTEN 0      511        [::1]:6379     [::]:*',
    'LISTEN 0      128             *:9000        *:*',
    'LISTEN 0      128      10.0.0.5:8443  0.0.0.0:*',
  ].join('\n') + '\n'
  const listening = (address: string, port: number): boolean => {
    const awk = listeningProbe(address, port).text.replace(/^ss -Htln \| /, '')
    return spawnSync('sh', ['-c', awk], { input: ss }).status === 0
  }
  const cases: [string, number, boolean][] = [
    ['127.0.0.1', 5432, true],
    ['127.0.0.1', 2024, true], // 0.0.0.0 takes every IPv4 address
    ['::1', 2024, false], // but not IPv6
    ['::1', 80, true], // [::] takes IPv6
    ['127.0.0.1', 80, false],
    ['127.0.0.53', 53, true], // the %lo scope is not part of the address
    ['localhost', 6379, true], // either loopback
    ['127.0.0.1', 9000, true], // * takes both families
    ['127.0.0.1', 8443, false], // bound to another address
    ['0.0.0.0', 8443, true], // a wildcard asks for any listener
    ['127.0.0.1', 1, false],
  ]
  for (const [address, port, want] of cases) assert.is(listening(address, port), want, `${address}:${port}`)
})

// Captured: ss -Htln (iproute2 6.1) with node servers on 127.0.0.1, ::1, :: (dual stack), 0.0.0.0, 127.0.0.53.
const CAPTURED = `LISTEN 0      511       0.0.0.0:19090 0.0.0.0:*
LISTEN 0      511     127.0.0.1:15432 0.0.0.0:*
LISTEN 0      128       0.0.0.0:2024  0.0.0.0:*
LISTEN 0      511    127.0.0.53:15353 0.0.0.0:*
LISTEN 0      511         [::1]:16379    [::]:*
LISTEN 0      511             *:18080       *:*
LISTEN 0      4096   127.0.0.53%lo:53   0.0.0.0:*
LISTEN 0      4096         [::]:22         [::]:*
`

test('the listening probe on captured ss output: which connections would find a listener', () => {
  const rows: [string, number, boolean][] = [
    ['127.0.0.1', 15432, true],
    ['127.0.0.1', 19090, true], // 0.0.0.0 takes every IPv4 address
    ['10.0.0.2', 15432, false], // bound to loopback only
    ['::1', 19090, false], // an IPv4 wildcard does not take IPv6
    ['::1', 22, true],
    ['127.0.0.1', 22, false], // [::] here is IPv6-only (dual stack shows as *)
    ['127.0.0.1', 18080, true],
    ['::1', 18080, true],
    ['localhost', 16379, true],
    ['127.0.0.1', 16379, false],
    ['127.0.0.1', 5432, false],
  ]
  for (const [address, port, want] of rows) {
    const awk = listeningProbe(address, port).text.replace(/^ss -Htln \| /, '')
    assert.is(spawnSync('sh', ['-c', awk], { input: CAPTURED }).status === 0, want, `${address}:${port}`)
  }
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
