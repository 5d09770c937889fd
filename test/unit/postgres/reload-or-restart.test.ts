// The settings handler as a recorded rule: reload and wait for the new
// configuration, then restart only when pg_settings says a setting waits for
// it; the guard runs on the host, so a runbook shows the rule.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { Host } from '../../../src/host.ts'
import { factValues } from '../../../src/facts/fact.ts'
import { applyPlan } from '../../../src/runner/tasks.ts'
import { reloadOrRestart } from '../../../roles/postgres/sql-resources.ts'

const handlerTask = () => reloadOrRestart({ version: 15, port: 5432 }, 'postgresql@15-main')

test('plan: a reload that waits for the new configuration, then a guard on pending_restart around the restart', () => {
  const ops = handlerTask().resource.plan(factValues([])).operations ?? []
  assert.equal(ops.map((o) => o.kind), ['run', 'guard'])
  const [reload, guard] = ops
  assert.ok(reload?.kind === 'run' && /systemctl reload -- postgresql@15-main/.test(reload.command.text) && /pg_conf_load_time\(\)/.test(reload.command.text))
  assert.ok(guard?.kind === 'guard')
  assert.match(guard.test.text, /pending_restart/)
  assert.is(guard.why, 'a setting waits for a restart (pg_settings.pending_restart)')
  assert.equal(guard.then.map((o) => o.kind === 'run' && o.command.text), ['systemctl restart -- postgresql@15-main'])
})

for (const [pending, restarts] of [[true, true], [false, false]] as const)
  test(`run: ${pending ? 'a setting waits: reload, then restart' : 'nothing waits: reload only'}`, async () => {
    const fake = new FakeConnection().on(/pending_restart/, () => ({ code: pending ? 0 : 1 })).on(/.*/, () => ({ code: 0 }))
    const t = handlerTask()
    await applyPlan(new Host({ name: 'db1', address: 'db1', connection: fake }), t, t.resource.plan(factValues([])))
    const restarted = fake.commands.some((c) => c.command === 'systemctl restart -- postgresql@15-main')
    assert.is(restarted, restarts)
  })

test.run()
