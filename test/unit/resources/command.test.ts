import { test } from 'uvu'
import { spawnSync } from 'node:child_process'
import * as assert from 'uvu/assert'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { CommandError } from '../../../src/errors.ts'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import { gather } from '../../../src/facts/gather.ts'
import { Host } from '../../../src/host.ts'
import { secret } from '../../../src/secrets.ts'
import { sh } from '../../../src/shell.ts'
import { command } from '../../../src/resources/command.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { applyPlan } from '../../../src/runner/tasks.ts'

const planOf = (t: Task, ...values: unknown[]) => t.resource.plan(factValues(t.resource.facts().map((f, i) => [f as Fact<unknown>, values[i]])))

const rows: [string, Task, unknown[], boolean, string][] = [
  ['no guard: always runs', command('pg_ctlcluster 15 main promote'), [], true, 'run: pg_ctlcluster 15 main promote'],
  ['creates: exists -> skipped', command('initdb -D /srv/pg', { creates: '/srv/pg/PG_VERSION' }), [true], false, 'skipped: /srv/pg/PG_VERSION exists'],
  ['creates: missing -> runs', command('initdb -D /srv/pg', { creates: '/srv/pg/PG_VERSION' }), [false], true, 'run: initdb -D /srv/pg'],
  ['removes: missing -> skipped', command('rm /tmp/lock', { removes: '/tmp/lock' }), [false], false, 'skipped: /tmp/lock does not exist'],
  ['unless: succeeded -> skipped', command('createuser app', { unless: 'psql -tAc "select 1"' }), [0], false, 'skipped: the unless command succeeded'],
  ['unless: failed -> runs', command('createuser app', { unless: 'psql -tAc "select 1"' }), [1], true, 'run: createuser app'],
  ['onlyIf: failed -> skipped', command('x', { onlyIf: 'test -f /y' }), [1], false, 'skipped: the onlyIf command failed (exit 1)'],
  ['onlyIf: succeeded -> runs', command('x', { onlyIf: 'test -f /y' }), [0], true, 'run: x'],
  ['guards in order: creates wins', command('x', { creates: '/a', unless: 'false' }), [true, 1], false, 'skipped: /a exists'],
]
for (const [name, t, values, changed, summary] of rows)
  test(`plan: ${name}`, () => {
    const plan = planOf(t, ...values)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
  })

test('secrets are masked in title and summary', () => {
  const t = command(sh`psql -v pw=${secret('s3cr3t-pw')} -f /tmp/a.sql`)
  assert.is(t.name, 'command psql -v pw=******** -f /tmp/a.sql')
  assert.is(planOf(t).summary, 'run: psql -v pw=******** -f /tmp/a.sql')
})

test('apply runs the command once with stdin and returns its output', async () => {
  const fake = new FakeConnection().on('psql', { code: 0, stdout: 'ok\n', stderr: 'notice\n' })
  const host = new Host({ name: 'h1', address: 'h1', connection: fake })
  const t = command(sh`psql -f -`, { stdin: 'select 1;' })
  const out = await applyPlan(host, t, planOf(t))
  assert.equal(out, { stdout: 'ok\n', stderr: 'notice\n', code: 0 })
  assert.equal(fake.commands, [{ command: 'psql -f -', stdin: 'select 1;' }])
})

test('apply: a failing command rejects with CommandError', async () => {
  const fake = new FakeConnection().on('false', { code: 1, stderr: 'boom' })
  const host = new Host({ name: 'h1', address: 'h1', connection: fake })
  const t = command('false')
  try {
    await applyPlan(host, t, planOf(t))
    assert.unreachable()
  } catch (e) {
    assert.instance(e, CommandError)
  }
})

test('guards run in one exec under /bin/sh, output discarded', async () => {
  // The fake hands the batch to the real /bin/sh (dash here), so the probes are exercised for real.
  const fake = new FakeConnection().on(/.*/, (cmd) => {
    const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  })
  const host = new Host({ name: 'h1', address: 'h1', connection: fake })
  const t = command('x', { creates: '/nonexistent/berth', removes: '/', unless: 'echo noise; exit 3', onlyIf: 'true' })
  const facts = await gather(host, t.resource.facts())
  assert.is(fake.commands.length, 1)
  const plan = t.resource.plan(facts)
  assert.equal([plan.changed, plan.summary], [true, 'run: x'])
  assert.is(facts.get(t.resource.facts()[2]!), 3)
})

test('arguments', () => {
  assert.throws(() => command(''), /command: argument 'cmd' must not be empty/)
  assert.throws(() => command('x', { creates: 'relative' }), /argument 'creates' must be an absolute path/)
  assert.throws(() => command('x', { timeoutMs: 0 }), /argument 'timeoutMs'/)
  assert.is(command('a'.repeat(100)).name.length, 'command '.length + 58)
})

test.run()
