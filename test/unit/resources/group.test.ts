import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import type { GroupAccount } from '../../../src/facts/users.ts'
import { group } from '../../../src/resources/group.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const planOf = (t: Task, g: GroupAccount | undefined) => t.resource.plan(factValues([[t.resource.facts()[0]!, g]]))
const harbor: GroupAccount = { name: 'harbor', gid: 10000, members: [] }

const rows: [string, Task, GroupAccount | undefined, boolean, string, string[]][] = [
  ['create with gid', group({ name: 'harbor', gid: 10000 }), undefined, true, 'create group harbor (gid 10000)', ['groupadd -g 10000 harbor']],
  ['create a system group', group({ name: 'svc', system: true }), undefined, true, 'create group svc', ['groupadd -r svc']],
  ['gid differs', group({ name: 'harbor', gid: 10001 }), harbor, true, 'gid 10000 -> 10001', ['groupmod -g 10001 harbor']],
  ['converged', group({ name: 'harbor', gid: 10000 }), harbor, false, 'gid 10000', []],
  ['any gid will do', group({ name: 'harbor' }), harbor, false, 'gid 10000', []],
  ['absent', group({ name: 'harbor', state: 'absent' }), harbor, true, 'remove group harbor', ['groupdel harbor']],
  ['already absent', group({ name: 'harbor', state: 'absent' }), undefined, false, 'already absent', []],
]
for (const [name, t, g, changed, summary, commands] of rows)
  test(`group: ${name}`, async () => {
    const plan = planOf(t, g)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
    assert.equal(operationsOf(plan), commands)
  })

test('arguments', () => {
  assert.throws(() => group({ name: '' }), /group: argument 'name'/)
  assert.throws(() => group({ name: 'x', gid: 1.5 }), /argument 'gid'/)
  assert.throws(() => group({ name: 'x', state: 'gone' as 'absent' }), /argument 'state'/)
})

test.run()
