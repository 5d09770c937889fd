// whenFact: a task that applies only where a fact says so. Where it does not,
// it is skipped with the reason as its summary, whatever the inner plan says;
// where it does, the inner plan is the plan.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fact, factValues } from '../../../src/facts/fact.ts'
import { task, type Resource } from '../../../src/resources/resource.ts'
import { whenFact } from '../../../src/resources/when-fact.ts'
import { sh } from '../../../src/shell.ts'
import { LocalConnection } from '../../../src/connection/local.ts'
import { Host } from '../../../src/host.ts'
import { applyTasks } from '../../../src/runner/tasks.ts'
import { command } from '../../../src/resources/command.ts'

const kernel = fact('kernel-kind', sh`uname -s`, (o) => o.stdout.trim())
const inner = fact('inner', sh`true`, () => 'x')
const res: Resource = { title: 'inner task', facts: () => [inner], plan: () => ({ changed: true, summary: 'would change' }) }
const wrapped = whenFact(kernel, (k) => k === 'Linux' || `not on ${k}`, task(res).named('named task').tags('t'))

test('applies where the fact says so: the inner plan', () => {
  assert.equal(wrapped.resource.plan(factValues([[kernel, 'Linux'], [inner, 'x']])), { changed: true, summary: 'would change' })
})

test('elsewhere: skipped, saying why, the inner plan not asked', () => {
  assert.equal(wrapped.resource.plan(factValues([[kernel, 'FreeBSD']])), { changed: false, skipped: true, summary: 'not on FreeBSD' })
})

test('the deciding fact is read with the inner facts, in one batch; name and options are kept', () => {
  assert.equal(wrapped.resource.facts(), [kernel, inner])
  assert.is(wrapped.name, 'named task')
  assert.equal(wrapped.options.tags, ['t'])
})

test('a task that reads its state by hand cannot be wrapped', () => {
  const byHand: Resource = { title: 'by hand', facts: () => [], plan: () => ({ changed: false }), check: async () => ({ changed: false }) }
  assert.throws(() => whenFact(kernel, () => true, task(byHand)), /reads its state by hand/)
})

test('the runner reports a skipped plan as skipped, with its reason, and runs nothing', async () => {
  const host = new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
  const answer = fact('answer', sh`echo no`, (o) => o.stdout.trim())
  const [r] = await applyTasks(host, [whenFact(answer, (a) => a === 'yes' || `the answer is ${a}`, command(sh`exit 9`))])
  assert.is(r?.status, 'skipped')
  assert.is(r?.plan?.summary, 'the answer is no')
})

test.run()
