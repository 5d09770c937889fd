import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import { parseDpkgQuery } from '../../../src/facts/packages.ts'
import { apt } from '../../../src/resources/apt.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const dpkg = (stdout: string) => parseDpkgQuery({ code: 1, stdout, stderr: '' })
const planOf = (t: Task, stdout: string) => t.resource.plan(factValues([[t.resource.facts()[0]!, dpkg(stdout)]]))

const INSTALL = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold"

const rows: [string, Task, string, boolean, string, string[]][] = [
  ['nothing installed', apt({ packages: ['jq', 'curl'] }), '', true, 'install jq, curl', [`${INSTALL} jq curl`]],
  ['only the missing one', apt({ packages: ['jq', 'curl'] }), 'curl\tinstall ok installed\t7.88\n', true, 'install jq', [`${INSTALL} jq`]],
  ['all installed', apt({ packages: ['jq'] }), 'jq\tinstall ok installed\t1.6\n', false, 'all installed', []],
  ['config-files left is not installed', apt({ packages: ['jq'] }), 'jq\tdeinstall ok config-files\t1.6\n', true, 'install jq', [`${INSTALL} jq`]],
  ['updateCache only when installing', apt({ packages: ['jq'], updateCache: true }), '', true, 'install jq', [`apt-get update -q && ${INSTALL} jq`]],
  ['updateCache, nothing to install: no update', apt({ packages: ['jq'], updateCache: true }), 'jq\tinstall ok installed\t1.6\n', false, 'all installed', []],
  ['absent: remove the present ones', apt({ packages: ['jq', 'curl'], state: 'absent' }), 'jq\tinstall ok installed\t1.6\n', true, 'remove jq', [
    'DEBIAN_FRONTEND=noninteractive apt-get remove -y -q jq',
  ]],
  ['absent: already gone', apt({ packages: ['jq'], state: 'absent' }), 'jq\tdeinstall ok config-files\t1.6\n', false, 'none installed', []],
  ['arch-qualified name', apt({ packages: ['libc6:i386'] }), 'libc6\tinstall ok installed\t2.36\n', false, 'all installed', []],
]
for (const [name, t, stdout, changed, summary, commands] of rows)
  test(`apt: ${name}`, async () => {
    const plan = planOf(t, stdout)
    assert.is(plan.changed, changed)
    assert.is(plan.summary, summary)
    assert.equal(operationsOf(plan), commands)
  })

test('title and one fact for the package set', () => {
  const t = apt({ packages: ['postgresql-15', 'postgresql-client-15'] })
  assert.is(t.name, 'apt postgresql-15, postgresql-client-15')
  assert.is(t.resource.facts().length, 1)
})

test('arguments', () => {
  assert.throws(() => apt({ packages: [] }), /apt: argument 'packages' must be a non-empty list/)
  assert.throws(() => apt({ packages: ['jq; rm -rf /'] }), /invalid package name/)
  assert.throws(() => apt({ packages: ['nginx=1.2'] }), /invalid package name/)
  assert.throws(() => apt({ packages: ['jq'], state: 'latest' as 'present' }), /argument 'state'/)
})

test.run()
