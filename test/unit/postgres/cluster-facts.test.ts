import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProbeOutput } from '../../../src/facts/fact.ts'
import { aptCandidateFact, clustersFact, dataDirFact, FIRST_USER_OID, isPristine, parseAptPolicy, parseClusters, parseDataDir, type DataDirState } from '../../../roles/postgres/cluster-facts.ts'
import { clusterProbe, controldata, CONTROLDATA_STANDBY_RUNNING, ok } from './fixtures.ts'

const clusters = suite('parseClusters')

clusters('a standby cluster at a custom data directory (pg_lsclusters --no-header on db2)', () => {
  const out = ok('15  main    5432 online,recovery postgres /data/pgsql/data /var/log/postgresql/postgresql-15-main.log\n')
  assert.equal(parseClusters(out), [{ version: 15, name: 'main', port: 5432, status: 'online,recovery', owner: 'postgres', dataDir: '/data/pgsql/data' }])
})

clusters('two clusters, one down', () => {
  const out = ok('13  main    5433 down   postgres /var/lib/postgresql/13/main /var/log/postgresql/postgresql-13-main.log\n15  main    5432 online postgres /data/pgsql/data /var/log/postgresql/postgresql-15-main.log\n')
  assert.equal(parseClusters(out).map((c) => [c.version, c.port, c.status, c.dataDir]), [
    [13, 5433, 'down', '/var/lib/postgresql/13/main'],
    [15, 5432, 'online', '/data/pgsql/data'],
  ])
})

clusters('no clusters: empty output', () => {
  assert.equal(parseClusters(ok('')), [])
  assert.equal(parseClusters(ok('\n')), [])
})

clusters('postgresql-common not installed yet (exit 127): no clusters', () => {
  assert.equal(parseClusters({ code: 127, stdout: '', stderr: 'sh: 1: pg_lsclusters: not found\n' }), [])
})

clusters('any other failure throws with its stderr', () => {
  assert.throws(() => parseClusters({ code: 2, stdout: '', stderr: 'Error: Invalid data directory\n' }), /Invalid data directory/)
  assert.throws(() => parseClusters({ code: 1, stdout: '', stderr: '' }), /pg_lsclusters exited with code 1/)
})

clusters('a truncated line throws', () => {
  assert.throws(() => parseClusters(ok('15 main 5432 online\n')), /unexpected pg_lsclusters line/)
})

clusters('the fact runs pg_lsclusters without a header', () => {
  assert.is(clustersFact.command.text, 'pg_lsclusters --no-header')
})

clusters.run()

const dataDir = suite('parseDataDir')

for (const kind of ['absent', 'empty', 'not-a-directory', 'other-files'] as const)
  dataDir(`kind=${kind}`, () => {
    assert.equal(parseDataDir(ok(`kind=${kind}\n`)), { kind })
  })

dataDir('a running standby (real pg_controldata text, objects counted)', () => {
  assert.equal(parseDataDir(clusterProbe({ standby: true, objects: '0' })), {
    kind: 'cluster',
    version: 15,
    standby: true,
    systemId: '7714597812895791290',
    state: 'in archive recovery',
    nextOid: 16387,
    running: true,
    userObjects: 0,
  })
})

dataDir('a stopped primary: no postmaster.pid, the objects section is empty', () => {
  const d = parseDataDir(clusterProbe({ control: controldata('shut down', 13573) }))
  assert.equal(d, { kind: 'cluster', version: 15, standby: false, systemId: '7714597812895791290', state: 'shut down', nextOid: 13573, running: false, userObjects: undefined })
})

dataDir('a postmaster.pid but the server did not answer: unknown, not running', () => {
  const d = parseDataDir(clusterProbe({ control: controldata('in production', 16390), objects: 'unknown' }))
  assert.is(d.kind, 'cluster')
  if (d.kind !== 'cluster') return
  assert.is(d.running, false)
  assert.is(d.userObjects, undefined)
  assert.is(d.state, 'in production')
})

dataDir('pg_controldata failed: the fields are unknown, the rest still read', () => {
  const d = parseDataDir(clusterProbe({ version: 13, control: 'pg_controldata: fatal: could not open file "/data/pgsql/data/global/pg_control" for reading: Permission denied\n', objects: '12' }))
  assert.equal(d, { kind: 'cluster', version: 13, standby: false, systemId: undefined, state: undefined, nextOid: undefined, running: true, userObjects: 12 })
})

dataDir('a failed probe or unexpected output throws', () => {
  assert.throws(() => parseDataDir({ code: 1, stdout: '', stderr: 'sh: 2: cannot open /data: Permission denied\n' }), /Permission denied/)
  assert.throws(() => parseDataDir(ok('something else\n')), /unexpected data directory probe output/)
  assert.throws(() => parseDataDir(ok('kind=socket\n')), /unexpected data directory probe output/)
})

dataDir('the fact: one key per version and directory; the directory is quoted into the script', () => {
  const f = dataDirFact('/data/pgsql/data', 15)
  assert.is(f.key, 'pg-data-dir:15:/data/pgsql/data')
  assert.ok(f.command.text.includes('/usr/lib/postgresql/15/bin/pg_controldata'))
  assert.ok(f.command.text.startsWith('d=/data/pgsql/data\n'))
  assert.ok(dataDirFact("/x y/'z", 15).command.text.startsWith(`d='/x y/'\\''z'\n`))
})

dataDir.run()

// The probe script itself, run by /bin/sh on this machine for the kinds that need no
// PostgreSQL binaries: what it prints is what parseDataDir reads.
const script = suite('dataDirFact script (local sh)')
let tmp = ''
script.before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-pg-probe-'))
})
script.after(() => {
  rmSync(tmp, { recursive: true, force: true })
})
const run = (dir: string): ProbeOutput => {
  const r = spawnSync('sh', ['-c', dataDirFact(dir, 15).command.text], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

script('absent, empty, other files, a file, a link to a directory', () => {
  mkdirSync(join(tmp, 'empty'))
  mkdirSync(join(tmp, 'other'))
  writeFileSync(join(tmp, 'other', 'notes.txt'), 'x')
  writeFileSync(join(tmp, 'file'), 'x')
  symlinkSync(join(tmp, 'empty'), join(tmp, 'link'))
  assert.equal(parseDataDir(run(join(tmp, 'nothing'))), { kind: 'absent' })
  assert.equal(parseDataDir(run(join(tmp, 'empty'))), { kind: 'empty' })
  assert.equal(parseDataDir(run(join(tmp, 'other'))), { kind: 'other-files' })
  assert.equal(parseDataDir(run(join(tmp, 'file'))), { kind: 'not-a-directory' })
  assert.equal(parseDataDir(run(join(tmp, 'link'))), { kind: 'not-a-directory' })
})

script('a hidden file alone is not empty', () => {
  mkdirSync(join(tmp, 'hidden'))
  writeFileSync(join(tmp, 'hidden', '.keep'), '')
  assert.equal(parseDataDir(run(join(tmp, 'hidden'))), { kind: 'other-files' })
})

script('PG_VERSION and no postmaster.pid: a stopped cluster of that version, nothing counted', () => {
  mkdirSync(join(tmp, 'cluster'))
  writeFileSync(join(tmp, 'cluster', 'PG_VERSION'), '15\n')
  writeFileSync(join(tmp, 'cluster', 'standby.signal'), '')
  const d = parseDataDir(run(join(tmp, 'cluster')))
  assert.is(d.kind, 'cluster')
  if (d.kind !== 'cluster') return
  assert.equal([d.version, d.standby, d.running, d.userObjects], [15, true, false, undefined])
  assert.not.ok(isPristine(d))
})

script.run()

const pristine = suite('isPristine')

const cluster = (o: Partial<Extract<DataDirState, { kind: 'cluster' }>>): DataDirState => ({
  kind: 'cluster',
  version: 15,
  standby: false,
  systemId: '7714597812895791290',
  state: 'shut down',
  nextOid: 13573,
  running: false,
  userObjects: undefined,
  ...o,
})

const pristineRows: [string, DataDirState, boolean][] = [
  ['running, 0 user objects', cluster({ running: true, userObjects: 0, state: 'in production', nextOid: 16390 }), true],
  ['running, 3 user objects', cluster({ running: true, userObjects: 3, state: 'in production' }), false],
  ['stopped cleanly, NextOID 13573 (fresh from initdb)', cluster({}), true],
  [`stopped cleanly, NextOID ${FIRST_USER_OID}`, cluster({ nextOid: FIRST_USER_OID }), true],
  ['stopped cleanly, NextOID 16387 (a user OID was handed out)', cluster({ nextOid: 16387 }), false],
  ['stopped standby: shut down in recovery, NextOID 13573', cluster({ standby: true, state: 'shut down in recovery' }), true],
  ["'in production' while stopped (a crash)", cluster({ state: 'in production' }), false],
  ['stopped, control file unreadable', cluster({ state: undefined, nextOid: undefined }), false],
  ['stopped cleanly but NextOID unknown', cluster({ nextOid: undefined }), false],
  ['absent', { kind: 'absent' }, false],
  ['empty', { kind: 'empty' }, false],
  ['other files', { kind: 'other-files' }, false],
]
for (const [name, d, expected] of pristineRows)
  pristine(name, () => {
    assert.is(isPristine(d), expected)
  })

pristine('from probe output: running standby with 0 objects, stopped clusters by NextOID', () => {
  assert.ok(isPristine(parseDataDir(clusterProbe({ standby: true, objects: '0' }))))
  assert.not.ok(isPristine(parseDataDir(clusterProbe({ objects: '3' }))))
  assert.ok(isPristine(parseDataDir(clusterProbe({ control: controldata('shut down', 13573) }))))
  assert.not.ok(isPristine(parseDataDir(clusterProbe({ control: controldata('shut down', 16387) }))))
  assert.not.ok(isPristine(parseDataDir(clusterProbe({ control: controldata('in production', 13573) }))))
  // The captured standby, seen stopped (no answer): 'in archive recovery' is not a clean shutdown.
  assert.not.ok(isPristine(parseDataDir(clusterProbe({ standby: true, control: CONTROLDATA_STANDBY_RUNNING }))))
})

pristine.run()

const apt = suite('parseAptPolicy')

// apt-cache policy postgresql-15, as captured on a lab host (Debian 12).
const POLICY_15 = `postgresql-15:
  Installed: 15.20-0+deb12u1
  Candidate: 15.20-0+deb12u1
  Version table:
 *** 15.20-0+deb12u1 500
        500 file:/var/lib/berth-repo ./ Packages
        100 /var/lib/dpkg/status
`

apt('installed and available', () => {
  assert.equal(parseAptPolicy(ok(POLICY_15)), { installed: '15.20-0+deb12u1', candidate: '15.20-0+deb12u1' })
})

apt('a package apt has never heard of prints nothing: both undefined', () => {
  assert.equal(parseAptPolicy(ok('')), { installed: undefined, candidate: undefined })
})

apt('available, not installed: (none) is undefined', () => {
  const out = ok('postgresql-15:\n  Installed: (none)\n  Candidate: 15.20-0+deb12u1\n  Version table:\n     15.20-0+deb12u1 500\n')
  assert.equal(parseAptPolicy(out), { installed: undefined, candidate: '15.20-0+deb12u1' })
})

apt('installed from a source that is gone: candidate (none)', () => {
  const out = ok('postgresql-13:\n  Installed: 13.16-1.pgdg120+1\n  Candidate: (none)\n  Version table:\n *** 13.16-1.pgdg120+1 100\n')
  assert.equal(parseAptPolicy(out), { installed: '13.16-1.pgdg120+1', candidate: undefined })
})

apt('apt-cache failing throws; the fact runs under LC_ALL=C', () => {
  assert.throws(() => parseAptPolicy({ code: 100, stdout: '', stderr: 'E: Could not open lock file\n' }), /Could not open lock file/)
  assert.is(aptCandidateFact('postgresql-15').command.text, 'LC_ALL=C apt-cache policy postgresql-15')
})

apt.run()
