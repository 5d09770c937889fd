// harbor-node's plans as tables: facts in, the decision and its commands out.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { planImages, planUnpack } from '../../../roles/harbor-node/installer.ts'
import { checkMarkers, checkPrimary, parseRecovery, pgpassLine } from '../../../roles/harbor-node/preflight.ts'
import { composeServices, parseProjectState, pinEnvCommand, pinEnvValues, pinnedEnv, planPrepare, planUp, preparedFor } from '../../../roles/harbor-node/start.ts'
import { requireAgreement } from '../../../roles/harbor-node/agreement.ts'
import { goldenHarborOptions } from '../../support/harbor-options.ts'
import type { Operation } from '../../../src/index.ts'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const shown = (ops: readonly Operation[] | undefined): string[] =>
  (ops ?? []).map((o) => (o.kind === 'run' ? o.command.text : o.kind === 'write' ? `write ${o.path}` : o.kind === 'upload' ? `upload ${o.source} -> ${o.path}` : o.kind))

const SHA = 'a'.repeat(64)
const installer = { file: '/srv/harbor-offline-installer-v2.11.2.tgz', sha256: SHA, dir: '/opt/harbor/v2.11.2' }

test('unpack: once per installer; the stamp names it; a file that is not the one its sha256 names is refused', () => {
  // Unpacked already: the controller's file is not even hashed.
  assert.is(planUnpack(installer, SHA, () => assert.unreachable('hashed') as never).changed, false)
  const first = planUnpack(installer, '', () => ({ sha256: SHA, bytes: 9 }))
  const ops = shown(first.operations)
  assert.is(ops[0], `upload ${installer.file} -> /var/tmp/berth-harbor-offline-installer-v2.11.2.tgz`)
  assert.ok(ops.some((o) => o.includes('tar -xzf') && o.includes('--strip-components=1')))
  // The stamp is written last: an interrupted unpack is done again.
  assert.is(ops.at(-1), 'write /opt/harbor/v2.11.2/.berth-installer')
  assert.match(planUnpack(installer, 'b'.repeat(64), () => ({ sha256: SHA, bytes: 9 })).summary ?? '', /over the installer unpacked before/)
  assert.throws(() => planUnpack(installer, '', () => ({ sha256: 'c'.repeat(64), bytes: 9 })), /does not match its sha256/)
})

test('images: loaded only when one is missing; before the unpack, the load is promised', () => {
  const wanted = ['berth-lab/harbor-core:v2.11.2', 'berth-lab/harbor-nginx:v2.11.2']
  assert.is(planImages('/d', { wanted, present: new Set(wanted) }).changed, false)
  const some = planImages('/d', { wanted, present: new Set(wanted.slice(0, 1)) })
  assert.is(some.summary, 'load berth-lab/harbor-nginx:v2.11.2')
  assert.match(shown(some.operations)[0] ?? '', /docker load -i harbor\.v\*\.tar\.gz/)
  assert.is(planImages('/d', { wanted: undefined, present: new Set() }).changed, true)
  assert.throws(() => planImages('/d', { wanted, present: new Set(), unknown: 'Cannot connect to the Docker daemon' }), /cannot ask Docker/)
})

test('prepare: only when harbor.yml changed or the generated files did since the last start', () => {
  const want = preparedFor('hostname: h\n', false)
  const same = { now: 'h1', started: 'h1' }
  assert.is(planPrepare('/d', want, want, same, false).changed, false)
  assert.match(planPrepare('/d', want, '', { now: '', started: '' }, false).summary ?? '', /first run/)
  assert.match(planPrepare('/d', want, preparedFor('hostname: other\n', false), same, false).summary ?? '', /harbor\.yml changed/)
  assert.match(planPrepare('/d', want, want, { now: 'h2', started: 'h1' }, false).summary ?? '', /generated were changed/)
  // Trivy is a prepare flag: turning it on is a change.
  assert.not.equal(preparedFor('x', true), preparedFor('x', false))
  assert.equal(shown(planPrepare('/d', want, '', same, true).operations), ["cd /d && ./prepare --with-trivy", 'write /d/.berth-prepared'])
})

test('pinned secrets on the host: awk edits the file in place from the pinned lines on standard input, as pinEnvValues does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pin-'))
  try {
    const file = join(dir, 'env')
    const before = 'CONFIG_PATH=/etc/core/app.conf\nCORE_SECRET=random1\nCSRF_KEY=random2\nPORT=8080\nX=a=b\n'
    writeFileSync(file, before, { mode: 0o600 })
    const values = { CORE_SECRET: 'pinned=1', CSRF_KEY: 'pinned$2', JOBSERVICE_SECRET: 'pinned3' }
    const pinned = Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('')
    const ran = spawnSync('sh', ['-c', pinEnvCommand(file).text], { input: pinned })
    assert.is(ran.status, 0, ran.stderr.toString())
    assert.is(readFileSync(file, 'utf8'), pinEnvValues(before, values))
    assert.is((statSync(file).mode & 0o777).toString(8), '600')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('pinned secrets: written over the random ones, other lines kept, a missing key added', () => {
  const before = 'CONFIG_PATH=/etc/core/app.conf\nCORE_SECRET=random1\nCSRF_KEY=random2\nPORT=8080\n'
  assert.is(pinEnvValues(before, { CORE_SECRET: 'pinned1', CSRF_KEY: 'pinned2', JOBSERVICE_SECRET: 'pinned3' }), 'CONFIG_PATH=/etc/core/app.conf\nCORE_SECRET=pinned1\nCSRF_KEY=pinned2\nPORT=8080\nJOBSERVICE_SECRET=pinned3\n')
  assert.is(pinEnvValues('A=1', { A: '2' }), 'A=2')
  // Which file holds which key, by release: the scanner prefix only from 2.8.
  const keysOf = (v: string) => pinnedEnv(goldenHarborOptions(v)).map((e) => `${e.file}: ${Object.keys(e.values).join(' ')}`)
  assert.equal(keysOf('2.11'), [
    'common/config/core/env: CORE_SECRET JOBSERVICE_SECRET CSRF_KEY ROBOT_SCANNER_NAME_PREFIX',
    'common/config/jobservice/env: CORE_SECRET JOBSERVICE_SECRET',
    'common/config/registryctl/env: CORE_SECRET JOBSERVICE_SECRET',
  ])
  assert.equal(keysOf('2.7')[0], 'common/config/core/env: CORE_SECRET JOBSERVICE_SECRET CSRF_KEY')
})

const PROJECT = `#compose
version: '2.3'
services:
  registry:
    image: x
  core:
    image: y
#containers
registry\tUp 3 minutes
core\tExited (1) 2 seconds ago
#config
abc123  -
#stamp
abc123
`

test('project state: services from the compose file, containers, the generated files\' hash and the start stamp', () => {
  const s = parseProjectState(PROJECT)
  assert.equal(s.services, ['registry', 'core'])
  assert.equal([...s.running], [['registry', true], ['core', false]])
  assert.is(s.configHash, 'abc123')
  assert.is(s.stamp, 'abc123')
  assert.is(parseProjectState('#compose\n#missing\n#containers\n#config\nx  -\n#stamp\n').services, undefined)
  assert.is(composeServices('not: [yaml'), undefined)
})

test('up: start what stopped; recreate after new files; nothing when all run on the files they started with', () => {
  const s = parseProjectState(PROJECT)
  const start = planUp('/d', s)
  assert.is(start.summary, 'start core')
  assert.match(shown(start.operations)[0] ?? '', /up -d --remove-orphans/)
  assert.not.match(shown(start.operations)[0] ?? '', /force-recreate/)
  const renewed = planUp('/d', { ...s, running: new Map([['registry', true], ['core', true]]), configHash: 'new' })
  assert.match(shown(renewed.operations)[0] ?? '', /up -d --force-recreate --remove-orphans/)
  // Never down -v: install.sh's way loses the node's volumes on every run.
  assert.not.match(shown(renewed.operations).join('\n'), /down/)
  // The stamp is hashed on the host, from the files there (prepare's values differ host by host).
  assert.match(shown(renewed.operations)[1] ?? '', /^cd \/d && \{ find common\/config -type f .*\| sha256sum \| cut -d' ' -f1 > \.berth-started$/)
  assert.is(planUp('/d', { ...s, running: new Map([['registry', true], ['core', true]]) }).changed, false)
  assert.throws(() => planUp('/d', { ...s, services: undefined, unknown: 'docker-compose.yml is missing' }), /docker-compose\.yml is missing/)
})

test('primary check: a standby or an unreachable database stops the run, naming it', () => {
  const d = goldenHarborOptions('2.11').database
  assert.equal(parseRecovery({ code: 0, stdout: 'f\n', stderr: '' }), { role: 'primary' })
  assert.equal(parseRecovery({ code: 0, stdout: 't\n', stderr: '' }), { role: 'standby' })
  assert.equal(parseRecovery({ code: 2, stdout: 'psql: error: connection refused\n', stderr: '' }), { error: 'psql: error: connection refused' })
  assert.is(checkPrimary(d, { role: 'primary' }).changed, false)
  assert.throws(() => checkPrimary(d, { role: 'standby' }), /database\.host 10\.77\.0\.11 is a standby \(pg_is_in_recovery\(\) is true\)/)
  assert.throws(() => checkPrimary(d, { error: 'timeout expired' }), /cannot ask the database at 10\.77\.0\.11:5432\/registry whether it is a primary: timeout expired/)
  // libpq's password file: ':' and '\\' escaped.
  assert.is(pgpassLine({ ...d, password: 'p:w\\d' }), '10.77.0.11:5432:registry:harbor:p\\:w\\\\d\n')
})

test('shared storage: every node must see every marker, or the hosts are named', () => {
  assert.is(checkMarkers('/data', 'harbor1', ['harbor1', 'harbor2'], ['harbor1', 'harbor2']).changed, false)
  assert.throws(() => checkMarkers('/data', 'harbor2', ['harbor1', 'harbor2'], ['harbor2']), /harbor2 does not see the storage marker of harbor1 on \/data: the nodes harbor2, harbor1 are not on one shared storage/)
})

test('agreement: a difference stops the run naming option and hosts, never the value; forced, it is returned as a warning', () => {
  const a = goldenHarborOptions('2.11')
  const b = goldenHarborOptions('2.11')
  b.secrets.csrfKey = 'd'.repeat(32)
  const nodes = [
    { host: 'harbor1', options: a },
    { host: 'harbor2', options: b },
  ]
  assert.equal(requireAgreement([nodes[0]!, { host: 'harbor2', options: goldenHarborOptions('2.11') }], false), [])
  try {
    requireAgreement(nodes, false)
    assert.unreachable('refused')
  } catch (e) {
    const m = (e as Error).message
    assert.match(m, /secrets\.csrfKey differs \(values not shown\): harbor1 \| harbor2/)
    assert.not.ok(m.includes('d'.repeat(32)) || m.includes('c'.repeat(32)), m)
  }
  assert.equal(requireAgreement(nodes, true), ['secrets.csrfKey differs (values not shown): harbor1 | harbor2'])
})

test.run()
