// The nodes of one Harbor must agree: options of several hosts in, what
// differs out, secrets named but never shown.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { describeDisagreements, disagreements } from '../../../roles/harbor-node/agreement.ts'
import { secret } from '../../../src/secrets.ts'
import { CSRF, goodHarborOptions } from '../../support/harbor-options.ts'

const node = (host: string, change: (o: ReturnType<typeof goodHarborOptions>) => void = () => {}) => {
  const options = goodHarborOptions()
  change(options)
  return { host, options }
}

test('identical options, a Secret and the same plain string alike: no difference', () => {
  assert.equal(disagreements([node('harbor1'), node('harbor2', (o) => (o.secrets.csrfKey = CSRF))]), [])
  assert.equal(disagreements([node('harbor1')]), [])
})

test('a different CSRF key: named, the hosts grouped, the values nowhere', () => {
  const other = 'd'.repeat(32)
  const found = disagreements([node('harbor1'), node('harbor2', (o) => (o.secrets.csrfKey = secret(other))), node('harbor3')])
  assert.equal(found, [{ option: 'secrets.csrfKey', secret: true, groups: [{ hosts: ['harbor1', 'harbor3'] }, { hosts: ['harbor2'] }] }])
  const lines = describeDisagreements(found)
  assert.equal(lines, ['secrets.csrfKey differs (values not shown): harbor1, harbor3 | harbor2'])
  assert.not.ok(JSON.stringify(found).includes(other) || lines.join().includes(CSRF))
})

test('database host, storage and version: shown, each its own line; the password not', () => {
  const found = disagreements([
    node('harbor1'),
    node('harbor2', (o) => {
      o.version = '2.10'
      o.database.host = '10.77.0.12'
      o.database.password = 'another-db-password'
      o.storage = { kind: 'nfs', server: '10.77.0.10', export: '/srv/nfs' }
    }),
  ])
  assert.equal(
    describeDisagreements(found),
    [
      'version differs: harbor1: 2.11 | harbor2: 2.10',
      'storage differs: harbor1: {"kind":"mounted"} | harbor2: {"export":"/srv/nfs","kind":"nfs","server":"10.77.0.10"}',
      'database differs: harbor1: ' + JSON.stringify(sorted({ ...goodHarborOptions().database, password: undefined })) + ' | harbor2: ' + JSON.stringify(sorted({ ...goodHarborOptions().database, host: '10.77.0.12', password: undefined })),
      'database.password differs (values not shown): harbor1 | harbor2',
    ],
  )
  assert.not.ok(JSON.stringify(found).includes('db-password'))
})

function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
}

test.run()
