import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Host } from '../../src/host.ts'
import { LocalConnection } from '../../src/connection/local.ts'
import { UnreachableError } from '../../src/errors.ts'
import { handler, task, step } from '../../src/resources/resource.ts'
import { runPlay, RunLedger, batchSize, type RunSettings } from '../../src/runner/play.ts'
import type { BerthEvent } from '../../src/report/events.ts'
import { CountingConnection } from '../support/counting-connection.ts'
import { note } from '../support/note-resource.ts'

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-runner-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const settings = (over: Partial<RunSettings> = {}): RunSettings => ({ check: false, diff: false, forks: 5, verbosity: 0, tags: { only: [], skip: [] }, ...over })

function makeHost(name: string, failConnect?: Error) {
  const connection = new CountingConnection(new LocalConnection(), failConnect)
  return { host: new Host({ name, address: name, connection }), connection }
}

async function play(hosts: Host[], build: (h: Host) => ReturnType<typeof note>[], s = settings(), options = {}) {
  const events: BerthEvent[] = []
  const ledger = new RunLedger()
  const result = await runPlay(
    { name: 'p', pattern: 'all', hosts, tasks: new Map(hosts.map((h) => [h.name, build(h)])), options },
    s,
    ledger,
    (e) => events.push(e),
  )
  return { result, ledger, events }
}

test('a no-op run of 30 tasks costs one exec per host (facts batched)', async () => {
  const a = makeHost('a')
  const b = makeHost('b')
  const build = (h: Host) => Array.from({ length: 30 }, (_, i) => note(join(dir, `${h.name}-${i}`), `line ${i}\n`))
  const first = await play([a.host, b.host], build)
  assert.is(first.ledger.counts.get('a')?.changed, 30)
  assert.is(first.ledger.counts.get('a')?.ok, 30, 'ok counts changed tasks too, as Ansible does')
  a.connection.commands.length = 0
  b.connection.commands.length = 0
  const second = await play([a.host, b.host], build)
  assert.is(second.ledger.counts.get('a')?.ok, 30)
  assert.is(second.ledger.counts.get('a')?.changed, 0)
  assert.is(a.connection.commands.length, 1)
  assert.is(b.connection.commands.length, 1)
})

test('after a change the remaining plans are computed on fresh facts, not stale ones', async () => {
  const { host } = makeHost('a')
  const path = join(dir, 'x')
  // The second task wants what the first one writes: with stale facts it would report a change.
  const r = await play([host], () => [note(path, 'v1\n'), note(path, 'v1\n')])
  assert.equal(r.result.results.get('a')?.map((x) => x.status), ['changed', 'ok'])
})

test('check mode changes nothing and reports what would change, with a diff', async () => {
  const { host } = makeHost('a')
  const path = join(dir, 'x')
  writeFileSync(path, 'old\n')
  const r = await play([host], () => [note(path, 'new\n')], settings({ check: true, diff: true }))
  assert.is(readFileSync(path, 'utf8'), 'old\n')
  const res = r.events.find((e) => e.kind === 'host_result')
  assert.ok(res && res.kind === 'host_result' && res.status === 'changed')
  assert.match((res as { diff: string }).diff, /-old\n\+new/)
})

test('handlers run once, at the end, in order, only on hosts that notified them', async () => {
  const a = makeHost('a')
  const b = makeHost('b')
  const log = join(dir, 'handlers.log')
  const append = (what: string) => step(what, { check: async () => ({ changed: true }), apply: async (h) => void (await h.$`echo ${what}-${h.name} >> ${log}`) })
  const first = handler('first', append('first'))
  const second = handler('second', append('second'))
  writeFileSync(join(dir, 'b-1'), 'same\n')
  writeFileSync(join(dir, 'b-2'), 'same\n')
  await play([a.host, b.host], (h) => [
    note(join(dir, `${h.name}-1`), 'same\n').notify(second, first),
    note(join(dir, `${h.name}-2`), 'same\n').notify(first),
  ])
  // Task order names `second` first, so it runs first; `first` runs once although notified twice.
  assert.is(readFileSync(log, 'utf8'), 'second-a\nfirst-a\n')
})

test('a handler built per host (as a role builds it) runs once by name, on all its hosts in parallel, under one banner', async () => {
  const hosts = ['a', 'b', 'c'].map((n) => makeHost(n).host)
  const log = join(dir, 'per-host.log')
  // Each host waits until all three have started: run host after host, this would never finish.
  const started = join(dir, 'started')
  const apply = step('apply settings', {
    check: async () => ({ changed: true }),
    apply: async (h) => void (await h.$`echo ${h.name} >> ${started}; i=0; while [ "$(wc -l < ${started})" -lt 3 ] && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.05; done; echo ${h.name} $(wc -l < ${started}) >> ${log}`),
  })
  const r = await play(hosts, (h) => [note(join(dir, `${h.name}-conf`), 'x\n').notify(handler('apply settings', apply))])
  const banners = r.events.filter((e) => e.kind === 'task_start' && e.handler)
  assert.is(banners.length, 1, 'one RUNNING HANDLER banner for the three per-host handlers of one name')
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]).sort(), ['3', '3', '3'], 'all three had started when each finished')
})

test('--check: a change notifies its handler, which reports what it would do and applies nothing (as Ansible)', async () => {
  const a = makeHost('a')
  const log = join(dir, 'applied.log')
  const restart = handler('restart', step('restart', { check: async () => ({ changed: true, summary: 'would restart' }), apply: async (h) => void (await h.$`echo applied >> ${log}`) }))
  const r = await play([a.host], (h) => [note(join(dir, `${h.name}-conf`), 'x\n').notify(restart)], settings({ check: true }))
  const handlerResults = r.events.filter((e) => e.kind === 'host_result' && e.task === 'restart')
  assert.equal(handlerResults.map((e) => e.kind === 'host_result' && [e.status, e.summary]), [['changed', 'would restart']])
  assert.not.ok(existsSync(log), 'nothing applied in --check')
  assert.not.ok(existsSync(join(dir, 'a-conf')))
})

test('a failing host stops; the others go on; the error names host, command, exit code and stderr', async () => {
  const a = makeHost('a')
  const b = makeHost('b')
  const boom = step('boom', { check: async () => ({ changed: true }), apply: async (h) => void (await h.$`echo nope >&2; exit 7`.quiet()) })
  const r = await play([a.host, b.host], (h) => [h.name === 'a' ? boom : note(join(dir, 'b0'), 'x'), note(join(dir, `${h.name}-after`), 'y')])
  assert.ok(existsSync(join(dir, 'b-after')))
  assert.not.ok(existsSync(join(dir, 'a-after')))
  assert.ok(r.ledger.failed.has('a'))
  const fail = r.events.find((e) => e.kind === 'host_result' && e.status === 'failed')
  assert.ok(fail && fail.kind === 'host_result')
  assert.match(fail.error ?? '', /a: command exited with code 7: echo nope >&2; exit 7/)
  assert.match(fail.error ?? '', /nope/)
  assert.match(fail.error ?? '', /runner\.test\.ts:\d+/)
})

test('an unreachable host is reported once and the others go on', async () => {
  const a = makeHost('a', new UnreachableError('a', 'connection refused on 10.9.9.9:22'))
  const b = makeHost('b')
  const r = await play([a.host, b.host], (h) => [note(join(dir, `${h.name}-1`), 'x')])
  assert.ok(r.ledger.unreachable.has('a'))
  assert.is(a.connection.commands.length, 0)
  assert.ok(existsSync(join(dir, 'b-1')))
  const un = r.events.filter((e) => e.kind === 'host_result' && e.status === 'unreachable')
  assert.is(un.length, 1)
})

test('any_errors_fatal stops every host after the failing task', async () => {
  const a = makeHost('a')
  const b = makeHost('b')
  const boom = step('boom', { check: async () => ({ changed: true }), apply: async (h) => void (await h.$`exit 1`) })
  await play([a.host, b.host], (h) => [h.name === 'a' ? boom : note(join(dir, 'b-0'), 'x'), note(join(dir, `${h.name}-1`), 'y')], settings(), { anyErrorsFatal: true })
  assert.ok(existsSync(join(dir, 'b-0')))
  assert.not.ok(existsSync(join(dir, 'b-1')))
})

test('serial batches run the whole play on one batch before the next', async () => {
  const hosts = ['a', 'b', 'c'].map((n) => makeHost(n).host)
  const log = join(dir, 'order')
  const mark = (label: string) => step(label, { check: async () => ({ changed: true }), apply: async (h) => void (await h.$`echo ${label}-${h.name} >> ${log}`) })
  await play(hosts, () => [mark('one'), mark('two')], settings({ forks: 1 }), { serial: 2 })
  assert.is(readFileSync(log, 'utf8'), 'one-a\none-b\ntwo-a\ntwo-b\none-c\ntwo-c\n')
  assert.is(batchSize('50%', 4), 2)
  assert.is(batchSize(undefined, 4), 4)
  assert.throws(() => batchSize('x', 4), /serial/)
})

test('tags select tasks; always runs unless skipped by name', async () => {
  const { host } = makeHost('a')
  const r = await play(
    [host],
    () => [note(join(dir, '1'), 'x').tags('db'), note(join(dir, '2'), 'x').tags('web'), note(join(dir, '3'), 'x').tags('always')],
    settings({ tags: { only: ['db'], skip: [] } }),
  )
  assert.equal(r.result.results.get('a')?.map((x) => x.task), [`note ${join(dir, '1')}`, `note ${join(dir, '3')}`])
})

test('run-once runs on the first host only and shares the result', async () => {
  const a = makeHost('a')
  const b = makeHost('b')
  const r = await play([a.host, b.host], () => [note(join(dir, 'once'), 'x').runOnce()])
  assert.is(a.connection.commands.length > 0, true)
  assert.is(b.connection.commands.length, 0)
  assert.is(r.result.get('b', `note ${join(dir, 'once')}`)?.status, 'changed')
})

test('retries: a task that fails twice then succeeds is changed after 3 attempts', async () => {
  const { host } = makeHost('a')
  const counter = join(dir, 'n')
  const flaky = step('flaky', {
    check: async () => ({ changed: true }),
    apply: async (h) => void (await h.$`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`),
  }).retry(3, 10)
  const r = await play([host], () => [flaky])
  const row = r.result.get('a', 'flaky')
  assert.is(row?.status, 'changed')
  assert.is(row?.attempts, 3)
})

test('a resource result is available to later code', async () => {
  const { host } = makeHost('a')
  const echo = task({ title: 'echo', facts: () => [], plan: () => ({ changed: true }), apply: async (h) => ({ stdout: (await h.$`echo hello`).stdout }) })
  const r = await play([host], () => [echo])
  assert.is(r.result.output('a', 'echo')?.stdout, 'hello\n')
})

test('a read-only task runs in --check too and reports ok with its output', async () => {
  const { host } = makeHost('a')
  const query = step('query', { check: async () => ({ changed: true }), apply: async (h) => ({ stdout: (await h.$`echo 42`).stdout }) }).readOnly()
  const r = await play([host], () => [query], settings({ check: true }))
  assert.is(r.result.get('a', 'query')?.status, 'ok')
  assert.is(r.result.output('a', 'query')?.stdout, '42\n')
})

test.run()
