import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import type { UnitState } from '../../../src/facts/systemd.ts'
import { daemonReload, reloadService, restartService, service } from '../../../src/resources/service.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const unit = (activeState: string, unitFileState: string, loadState = 'loaded'): UnitState => ({ activeState, unitFileState, loadState })
const planOf = (t: Task, u: UnitState) => t.resource.plan(factValues([[t.resource.facts()[0]!, u]]))

const rows: [string, Task, UnitState, boolean, string, string[]][] = [
  ['start and enable: one call', service({ name: 'postgresql', state: 'started', enabled: true }), unit('inactive', 'disabled'), true, 'enable, start postgresql (was inactive)', [
    'systemctl enable --now -- postgresql',
  ]],
  ['start only', service({ name: 'postgresql', state: 'started', enabled: true }), unit('failed', 'enabled'), true, 'start postgresql (was failed)', ['systemctl start -- postgresql']],
  ['enable only', service({ name: 'postgresql', state: 'started', enabled: true }), unit('active', 'disabled'), true, 'enable postgresql', ['systemctl enable -- postgresql']],
  ['converged', service({ name: 'postgresql', state: 'started', enabled: true }), unit('active', 'enabled'), false, 'active, enabled', []],
  ['stop and disable: one call', service({ name: 'nginx', state: 'stopped', enabled: false }), unit('active', 'enabled'), true, 'disable, stop nginx (was active)', ['systemctl disable --now -- nginx']],
  ['stop, keep enabled', service({ name: 'nginx', state: 'stopped', enabled: true }), unit('active', 'enabled'), true, 'stop nginx (was active)', ['systemctl stop -- nginx']],
  ['started + disabled: two commands, one exec', service({ name: 'x', state: 'started', enabled: false }), unit('inactive', 'enabled'), true, 'disable, start x (was inactive)', [
    'systemctl disable -- x && systemctl start -- x',
  ]],
  ['static unit counts as enabled', service({ name: 'x', enabled: true }), unit('active', 'static'), false, 'active, static', []],
  ['stopped unit that is not there: nothing to do', service({ name: 'x', state: 'stopped' }), unit('inactive', '', 'not-found'), false, 'unit x not found: nothing to stop or disable', []],
  ['activating is not yet running', service({ name: 'x', state: 'started' }), unit('activating', 'enabled'), true, 'start x (was activating)', ['systemctl start -- x']],
]
for (const [name, t, u, changed, summary, commands] of rows)
  test(`service: ${name}`, async () => {
    const plan = planOf(t, u)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
    assert.equal(operationsOf(plan), commands)
  })

test('errors: unit not found when it must run; masked', () => {
  assert.throws(() => planOf(service({ name: 'x', state: 'started' }), unit('inactive', '', 'not-found')), /unit x not found/)
  assert.throws(() => planOf(service({ name: 'x', enabled: true }), unit('inactive', 'masked', 'masked')), /unit x is masked/)
})

test('handlers: restart and reload always run; daemon-reload', async () => {
  for (const [t, summary, command] of [
    [restartService('postgresql'), 'restart postgresql', 'systemctl restart -- postgresql'],
    [reloadService('nginx'), 'reload nginx', 'systemctl reload -- nginx'],
    [daemonReload(), 'daemon-reload', 'systemctl daemon-reload'],
  ] as const) {
    assert.equal(t.resource.facts(), [])
    const plan = t.resource.plan(factValues([]))
    assert.equal([plan.changed, plan.summary], [true, summary])
    assert.equal(operationsOf(plan), [command])
  }
  assert.is(restartService('postgresql').name, 'restart postgresql')
})

test('arguments', () => {
  assert.throws(() => service({ name: 'x' }), /argument 'state' or enabled must be given/)
  assert.throws(() => service({ name: 'x', state: 'restarted' as 'started' }), /restarts are handlers/)
  assert.throws(() => service({ name: 'x y', state: 'started' }), /argument 'name'/)
  assert.throws(() => restartService('$(reboot)'), /restartService: argument 'name'/)
})

test.run()
