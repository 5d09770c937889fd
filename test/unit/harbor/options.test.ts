// harbor-node's option checks: a table of one wrong option in, the message
// that names it out; and secrets never in a message.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkHarborOptions, type HarborNodeOptions } from '../../../roles/harbor-node/options.ts'
import { CSRF, goodHarborOptions as good } from '../../support/harbor-options.ts'
import { harborKeySet, harborMinorOf, SUPPORTED_HARBOR_VERSIONS } from '../../../roles/harbor-node/versions.ts'
import { optionFailure } from '../../support/option-failure.ts'

const check = (o: HarborNodeOptions): string | undefined => optionFailure((fail) => checkHarborOptions(o, fail))

test('good options pass', () => {
  assert.is(check(good()), undefined)
})

const rows: [string, (o: HarborNodeOptions) => void, RegExp][] = [
  ['an unsupported version is refused by name', (o) => (o.version = '2.2'), /option 'version' "2\.2" is not a Harbor release berth supports: 2\.3 to 2\.15/],
  ['a version that is no version', (o) => (o.version = 'latest'), /option 'version' "latest"/],
  ['hostname prepare refuses', (o) => (o.hostname = 'reg.mydomain.com'), /option 'hostname' cannot be reg\.mydomain\.com/],
  ['hostname 127.0.0.1', (o) => (o.hostname = '127.0.0.1'), /option 'hostname' cannot be 127\.0\.0\.1/],
  ['externalUrl with a path', (o) => (o.externalUrl = 'https://h/x'), /option 'externalUrl' must be http\(s\):\/\/host\[:port\]/],
  ['CSRF key of 31 characters', (o) => (o.secrets.csrfKey = 'c'.repeat(31)), /option 'secrets\.csrfKey' must be exactly 32 characters \(it has 31\)/],
  ['core secret too long', (o) => (o.secrets.coreSecret = 'x'.repeat(17)), /option 'secrets\.coreSecret' must be exactly 16/],
  ['scanner prefix with capitals', (o) => (o.secrets.scannerNamePrefix = 'ABCD1234'), /option 'secrets\.scannerNamePrefix' must be lower-case/],
  ['token key that is no key', (o) => (o.secrets.tokenPrivateKey = 'nope'), /option 'secrets\.tokenPrivateKey' must be a PEM private key/],
  ['admin password too short', (o) => (o.adminPassword = 'short'), /option 'adminPassword' must be at least 8 characters \(it has 5\)/],
  ['database port', (o) => (o.database.port = 0), /option 'database' port must be from 1 to 65535/],
  ['database sslMode', (o) => ((o.database as { sslMode: string }).sslMode = 'prefer'), /option 'database' sslMode must be disable, require, verify-ca or verify-full/],
  ['connection lifetimes before 2.7', (o) => ((o.version = '2.6'), delete o.redis.harborDbIndex, delete o.redis.cacheLayerDbIndex), /option 'database' connMaxLifetime needs Harbor 2\.7 or later \(this is 2\.6\)/],
  ['a bad Go duration', (o) => (o.database.connMaxLifetime = '5 minutes'), /connMaxLifetime must be a Go duration/],
  ['two Redis uses on one database', (o) => (o.redis.trivyDbIndex = 2), /option 'redis' jobserviceDbIndex and trivyDbIndex are both 2/],
  ['Redis db 0 is core\'s sessions', (o) => (o.redis.registryDbIndex = 0), /option 'redis' registryDbIndex cannot be 0/],
  ['ChartMuseum index on 2.8+', (o) => (o.redis.chartmuseumDbIndex = 3), /chartmuseumDbIndex: Harbor 2\.11 has no ChartMuseum/],
  ['harbor_db_index before 2.9', (o) => ((o.version = '2.8'), delete o.database.connMaxIdleTime), /option 'redis' harborDbIndex needs Harbor 2\.9 or later/],
  ['dataVolume relative', (o) => (o.dataVolume = 'data'), /option 'dataVolume' must be an absolute path/],
  ['NFS storage without export', (o) => (o.storage = { kind: 'nfs', server: '10.77.0.10', export: '' }), /option 'storage' export must be the exported path/],
  ['installer that is no tgz', (o) => (o.installer.file = '/srv/harbor.zip'), /option 'installer' file must be the offline installer/],
  ['maxIdleConns 0, which prepare turns into 2', (o) => (o.database.maxIdleConns = 0), /option 'database' maxIdleConns cannot be 0: prepare replaces 0 by its default \(2\)/],
  ['a Redis password 2.6 would put into a URL unquoted', (o) => ((o.version = '2.6'), delete o.redis.harborDbIndex, delete o.redis.cacheLayerDbIndex, delete o.database.connMaxLifetime, delete o.database.connMaxIdleTime, (o.redis.password = 'redis/pass@1')), /option 'redis\.password' Harbor 2\.6 writes it into a URL unquoted/],
  ['a MySQL database', (o) => (o.database = { ...o.database, engine: 'mysql' }), /option 'database' is MySQL: Harbor 1\.6 and later store their data only in PostgreSQL, and this is Harbor 2\.11/],
  ['a soft NFS mount', (o) => (o.storage = { kind: 'nfs', server: '10.77.0.10', export: '/srv/nfs/harbor', options: 'rw,soft,_netdev' }), /option 'storage' options say soft/],
  ['NFSv3', (o) => (o.storage = { kind: 'nfs', server: '10.77.0.10', export: '/srv/nfs/harbor', options: 'rw,hard,vers=3' }), /option 'storage' options ask for NFSv2\/3/],
  ['group without this node', (o) => (o.group = { node: 'harbor3', nodes: ['harbor1', 'harbor2'] }), /option 'group' nodes \(harbor1, harbor2\) must include this node, harbor3/],
  ['installer checksum', (o) => (o.installer.sha256 = 'abc'), /option 'installer' sha256 must be/],
]

for (const [name, change, message] of rows)
  test(`refused: ${name}`, () => {
    const o = good()
    change(o)
    const m = check(o)
    assert.ok(m, 'refused')
    assert.match(m, message)
    for (const value of [CSRF, 'db-password-1', 'redis-password-1', 'Harbor-admin-pw-1', 'core-secret-0016']) assert.not.ok(m.includes(value), `no secret in: ${m}`)
  })

test('versions: each supported release has a key set; others have none', () => {
  for (const v of SUPPORTED_HARBOR_VERSIONS) assert.ok(harborKeySet(v), v)
  for (const v of ['2.2', '2.16', '1.10', '3.0', '2.x']) assert.is(harborKeySet(v), undefined, v)
  assert.is(harborMinorOf('2.11.1'), 11)
  // From harbor.md's table: ChartMuseum up to 2.7, Notary up to 2.8, job_loggers from 2.9.
  assert.equal(
    ['2.7', '2.8', '2.9'].map((v) => { const k = harborKeySet(v)!; return [k.chartmuseum, k.notary, k.jobLoggers, k.loggerSweeper] }),
    [[true, true, false, false], [false, true, false, true], [false, false, true, true]],
  )
})

test.run()
