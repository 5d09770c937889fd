import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import type { UserAccount } from '../../../src/facts/users.ts'
import { user } from '../../../src/resources/user.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const pg = (over: Partial<UserAccount> = {}): UserAccount => ({
  name: 'postgres',
  uid: 104,
  gid: 110,
  home: '/var/lib/postgresql',
  shell: '/bin/bash',
  group: 'postgres',
  groups: ['ssl-cert'],
  ...over,
})
const planOf = (t: Task, u: UserAccount | undefined) => t.resource.plan(factValues([[t.resource.facts()[0]!, u]]))

const rows: [string, Task, UserAccount | undefined, boolean, string, string[]][] = [
  ['create with everything', user({ name: 'postgres', uid: 104, group: 'postgres', groups: ['ssl-cert'], home: '/var/lib/postgresql', shell: '/bin/bash' }), undefined, true,
    'create user postgres (uid 104, group postgres, groups ssl-cert)', ['useradd -u 104 -g postgres -G ssl-cert -d /var/lib/postgresql -s /bin/bash -m postgres']],
  ['create a system user: no home by default', user({ name: 'svc', system: true, shell: '/usr/sbin/nologin' }), undefined, true, 'create user svc', ['useradd -s /usr/sbin/nologin -r -M svc']],
  ['converged', user({ name: 'postgres', uid: 104, group: 'postgres', groups: ['ssl-cert'] }), pg(), false, 'uid 104, group postgres', []],
  ['numeric primary group compares with gid', user({ name: 'postgres', group: '110' }), pg(), false, 'uid 104, group postgres', []],
  ['shell only', user({ name: 'postgres', shell: '/bin/sh' }), pg(), true, 'shell /bin/bash -> /bin/sh', ['usermod -s /bin/sh postgres']],
  ['exact groups: add and remove', user({ name: 'postgres', groups: ['docker'] }), pg(), true, 'groups +docker,-ssl-cert', ['usermod -G docker postgres']],
  ['exact groups: empty list clears', user({ name: 'postgres', groups: [] }), pg(), true, 'groups -ssl-cert', ["usermod -G '' postgres"]],
  ['append: only the missing ones', user({ name: 'postgres', groups: ['ssl-cert', 'docker'], append: true }), pg(), true, 'groups +docker', ['usermod -a -G docker postgres']],
  ['append: nothing missing', user({ name: 'postgres', groups: ['ssl-cert'], append: true }), pg(), false, 'uid 104, group postgres', []],
  ['the primary group in groups is not a change', user({ name: 'postgres', groups: ['postgres', 'ssl-cert'] }), pg(), false, 'uid 104, group postgres', []],
  ['uid and home: one usermod, home not moved', user({ name: 'postgres', uid: 200, home: '/srv/pg' }), pg(), true, 'uid 104 -> 200, home /var/lib/postgresql -> /srv/pg', ['usermod -u 200 -d /srv/pg postgres']],
  ['absent', user({ name: 'postgres', state: 'absent' }), pg(), true, 'remove user postgres', ['userdel postgres']],
  ['already absent', user({ name: 'postgres', state: 'absent' }), undefined, false, 'already absent', []],
]
for (const [name, t, u, changed, summary, commands] of rows)
  test(`user: ${name}`, async () => {
    const plan = planOf(t, u)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
    assert.equal(operationsOf(plan), commands)
  })

test('arguments', () => {
  assert.throws(() => user({ name: '-rf' }), /user: argument 'name'/)
  assert.throws(() => user({ name: 'a b' }), /argument 'name'/)
  assert.throws(() => user({ name: 'ann', uid: -1 }), /argument 'uid'/)
  assert.throws(() => user({ name: 'ann', shell: 'bash' }), /argument 'shell' must be an absolute path/)
  assert.throws(() => user({ name: 'ann', groups: ['a,b'] }), /argument 'groups'/)
  assert.is(user({ name: 'ann' }).name, 'user ann')
})

test.run()
