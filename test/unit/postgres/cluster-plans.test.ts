import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { thrownBy } from './fixtures.ts'
import { BerthError } from '../../../src/errors.ts'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import type { FileState } from '../../../src/facts/file.ts'
import { createHash } from 'node:crypto'
import type { AptCandidate, ClusterEntry, DataDirState } from '../../../roles/postgres/cluster-facts.ts'
import { autoConfWithoutManaged, createCluster, dropPackageDefaultCluster, planCreateCluster, planDropDefault, planPreflight, preflight, type CreateClusterInput, type PreflightInput } from '../../../roles/postgres/cluster.ts'

const ROLE = 'pg13-primary'
const DATA = '/data/pgsql/data'
const ARCHIVE = '/data/pgsql/archive'
const DEFAULT_DIR = '/var/lib/postgresql/15/main'

const clusterDir = (o: Partial<Extract<DataDirState, { kind: 'cluster' }>> = {}): DataDirState => ({
  kind: 'cluster',
  version: 15,
  standby: false,
  systemId: '7714595833302423689',
  state: 'shut down',
  nextOid: 13573,
  running: false,
  userObjects: undefined,
  ...o,
})
const PRISTINE = clusterDir()
const WITH_DATA = clusterDir({ state: 'in production', nextOid: 24576, running: true, userObjects: 42 })
const entry = (dataDir: string, status = 'down'): ClusterEntry => ({ version: 15, name: 'main', port: 5432, status, owner: 'postgres', dataDir })


const pre = suite('planPreflight')

const INPUT: PreflightInput = { role: ROLE, version: 15, cluster: 'main', package: 'postgresql-15', directories: { dataDir: DATA, archiveDir: ARCHIVE } }
const INSTALLED: AptCandidate = { installed: '15.20-0+deb12u1', candidate: '15.20-0+deb12u1' }
const AVAILABLE: AptCandidate = { installed: undefined, candidate: '15.20-0+deb12u1' }
const NOWHERE: AptCandidate = { installed: undefined, candidate: undefined }

pre('a file where dataDir must be: the error names dataDir and its path', () => {
  const e = thrownBy(BerthError, () => planPreflight(INPUT, INSTALLED, { dataDir: { kind: 'not-a-directory' }, archiveDir: { kind: 'absent' } }))
  assert.ok(e.message.includes(`option 'dataDir' (${DATA}) is not a directory`), e.message)
  assert.ok(e.message.startsWith(`role ${ROLE}:`))
  assert.ok(e.hint?.includes('dataDir'))
})

pre('a link where archiveDir must be: the error names archiveDir', () => {
  const e = thrownBy(BerthError, () => planPreflight(INPUT, INSTALLED, { dataDir: { kind: 'absent' }, archiveDir: { kind: 'not-a-directory' } }))
  assert.ok(e.message.includes(`option 'archiveDir' (${ARCHIVE})`), e.message)
})

pre('no candidate and not installed: the error names version and the package', () => {
  const e = thrownBy(BerthError, () => planPreflight(INPUT, NOWHERE, { dataDir: { kind: 'absent' }, archiveDir: { kind: 'absent' } }))
  assert.ok(e.message.includes("option 'version' (15)"), e.message)
  assert.ok(e.message.includes('postgresql-15 is not available'), e.message)
  assert.ok(e.hint?.includes('pgdg'))
})

pre('a cluster of another version at dataDir: the error names both versions', () => {
  const e = thrownBy(BerthError, () => planPreflight(INPUT, INSTALLED, { dataDir: clusterDir({ version: 13 }), archiveDir: { kind: 'absent' } }))
  assert.ok(e.message.includes(`option 'dataDir' (${DATA}) holds a PostgreSQL 13 cluster, not 15`), e.message)
  assert.ok(e.hint?.includes('set version: 13'))
})

pre('the directory checks come before the package check', () => {
  const e = thrownBy(BerthError, () => planPreflight(INPUT, NOWHERE, { dataDir: { kind: 'not-a-directory' }, archiveDir: { kind: 'absent' } }))
  assert.ok(e.message.includes("'dataDir'"))
})

pre('passes: read-only, a summary of the package and each directory', () => {
  const p = planPreflight(INPUT, INSTALLED, { dataDir: clusterDir(), archiveDir: { kind: 'empty' } })
  assert.is(p.changed, false)
  assert.is(p.summary, `postgresql-15 15.20-0+deb12u1 installed; dataDir ${DATA}: a PostgreSQL 15 cluster; archiveDir ${ARCHIVE}: empty`)
  const q = planPreflight(INPUT, AVAILABLE, { dataDir: { kind: 'absent' }, archiveDir: { kind: 'other-files' } })
  assert.is(q.changed, false)
  assert.is(q.summary, `postgresql-15 15.20-0+deb12u1 available; dataDir ${DATA}: absent; archiveDir ${ARCHIVE}: other-files`)
})

pre('the task reads the apt candidate and one probe per directory', () => {
  const t = preflight(INPUT)
  const facts = t.resource.facts()
  assert.equal(facts.map((f) => f.key), ['apt-policy:postgresql-15', `pg-data-dir:15:${DATA}`, `pg-data-dir:15:${ARCHIVE}`])
  const [apt, data, archive] = facts as [Fact<unknown>, Fact<unknown>, Fact<unknown>]
  const plan = t.resource.plan(factValues([[apt, INSTALLED], [data, { kind: 'absent' }], [archive, { kind: 'absent' }]]))
  assert.is(plan.changed, false)
  assert.throws(() => t.resource.plan(factValues([[apt, INSTALLED], [data, { kind: 'not-a-directory' }], [archive, { kind: 'absent' }]])), /'dataDir'/)
})

pre.run()

const drop = suite('planDropDefault')
const C = { version: 15, cluster: 'main' }

drop('no cluster 15/main: no change', () => {
  const p = planDropDefault(ROLE, C, DATA, [], { kind: 'absent' })
  assert.equal(p, { changed: false, summary: 'no other cluster in the way', commands: [] })
})

drop('a cluster of another version or name does not count', () => {
  const others: ClusterEntry[] = [{ ...entry('/var/lib/postgresql/13/main'), version: 13 }, { ...entry('/var/lib/postgresql/15/other'), name: 'other' }]
  const p = planDropDefault(ROLE, C, DATA, others, WITH_DATA)
  assert.is(p.changed, false)
  assert.equal(p.commands, [])
})

drop('the cluster is already at our dataDir: no change', () => {
  const p = planDropDefault(ROLE, C, DATA, [entry(DATA, 'online')], WITH_DATA)
  assert.is(p.changed, false)
  assert.equal(p.commands, [])
  assert.is(p.summary, `cluster 15/main is at ${DATA}`)
})

drop('our dataDir is the package default: no change, never a drop', () => {
  const p = planDropDefault(ROLE, C, DEFAULT_DIR, [entry(DEFAULT_DIR)], PRISTINE)
  assert.is(p.changed, false)
  assert.equal(p.commands, [])
})

drop('a pristine package cluster at the default directory: one pg_dropcluster --stop', () => {
  for (const atDefault of [PRISTINE, clusterDir({ running: true, userObjects: 0, state: 'in production', nextOid: 16384 })]) {
    const p = planDropDefault(ROLE, C, DATA, [entry(DEFAULT_DIR, 'online')], atDefault)
    assert.is(p.changed, true)
    assert.equal(p.commands.map((c) => c.text), ['pg_dropcluster --stop 15 main'])
    assert.ok(p.summary?.includes(DEFAULT_DIR))
  }
})

drop('a package cluster that holds data: refused, with the way out in the hint', () => {
  for (const atDefault of [WITH_DATA, clusterDir({ nextOid: 16387 }), clusterDir({ state: 'in production' }), clusterDir({ state: undefined, nextOid: undefined })]) {
    const e = thrownBy(BerthError, () => planDropDefault(ROLE, C, DATA, [entry(DEFAULT_DIR)], atDefault))
    assert.ok(e.message.includes(`cluster 15/main already exists at ${DEFAULT_DIR}`), e.message)
    assert.ok(e.message.includes('berth will not drop it'))
    assert.ok(e.hint?.includes(`dataDir: ${DEFAULT_DIR}`))
  }
})

drop('a cluster 15/main somewhere else than the package default: refused even when pristine', () => {
  const e = thrownBy(BerthError, () => planDropDefault(ROLE, C, DATA, [entry('/srv/old/pgdata')], PRISTINE))
  assert.ok(e.message.includes('already exists at /srv/old/pgdata'), e.message)
  assert.ok(e.message.includes('will not drop'))
})

drop('the task probes the clusters and the package default directory', () => {
  const t = dropPackageDefaultCluster(ROLE, C, DATA)
  const [clusters, atDefault] = t.resource.facts() as [Fact<unknown>, Fact<unknown>]
  assert.is(clusters.key, 'pg-clusters')
  assert.is(atDefault.key, `pg-data-dir:15:${DEFAULT_DIR}`)
  const plan = t.resource.plan(factValues([[clusters, [entry(DEFAULT_DIR)]], [atDefault, PRISTINE]]))
  assert.is(plan.changed, true)
})

drop.run()

const create = suite('planCreateCluster')
const CREATE: CreateClusterInput = { role: ROLE, version: 15, cluster: 'main', dataDir: DATA, port: 5432, locale: 'C.UTF-8' }

create('registered at dataDir: no change, the status in the summary', () => {
  const p = planCreateCluster(CREATE, [entry(DATA, 'online')], WITH_DATA)
  assert.equal(p, { changed: false, summary: `cluster 15/main at ${DATA} (online)`, commands: [] })
})

for (const kind of ['absent', 'empty'] as const)
  create(`${kind} directory: pg_createcluster with the options`, () => {
    const p = planCreateCluster(CREATE, [], { kind })
    assert.is(p.changed, true)
    assert.is(p.commands.length, 1)
    const text = p.commands[0]?.text ?? ''
    assert.ok(text.startsWith('pg_createcluster '), text)
    for (const part of [`--datadir=${DATA}`, '--port=5432', '--locale=C.UTF-8', '--encoding=UTF8'])
      assert.ok(text.includes(part), `${part} in ${text}`)
    assert.ok(text.endsWith(' 15 main'), text)
  })

create('another port and locale go into the command', () => {
  const p = planCreateCluster({ ...CREATE, port: 5433, locale: 'en_US.UTF-8' }, [], { kind: 'absent' })
  assert.is(p.commands[0]?.text, `pg_createcluster --datadir=${DATA} --port=5433 --locale=en_US.UTF-8 --encoding=UTF8 15 main`)
})

create('other files at dataDir: refused, naming dataDir', () => {
  const e = thrownBy(BerthError, () => planCreateCluster(CREATE, [], { kind: 'other-files' }))
  assert.ok(e.message.includes(`option 'dataDir' (${DATA}) is other-files`), e.message)
  assert.ok(e.hint?.includes('empty or missing directory'))
})

create('an unregistered cluster at dataDir: refused, naming dataDir', () => {
  const e = thrownBy(BerthError, () => planCreateCluster(CREATE, [], clusterDir()))
  assert.ok(e.message.includes(`option 'dataDir' (${DATA}) is a PostgreSQL 15 cluster that postgresql-common does not know`), e.message)
})

create('the task reads the clusters and the data directory', () => {
  const t = createCluster(CREATE)
  const [clusters, dir] = t.resource.facts() as [Fact<unknown>, Fact<unknown>]
  assert.is(dir.key, `pg-data-dir:15:${DATA}`)
  assert.is(t.resource.plan(factValues([[clusters, [entry(DATA)]], [dir, WITH_DATA]])).changed, false)
  assert.is(t.resource.plan(factValues([[clusters, []], [dir, { kind: 'empty' }]])).changed, true)
})

create.run()

const auto = suite('autoConfWithoutManaged')

const autoFile = (text: string): FileState => ({
  exists: true,
  kind: 'file',
  typeName: 'regular file',
  mode: '0600',
  uid: 105,
  gid: 111,
  owner: 'postgres',
  group: 'postgres',
  size: Buffer.byteLength(text),
  sha256: createHash('sha256').update(text).digest('hex'),
  content: Buffer.from(text),
})
const HEADER = '# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\n'

auto('an ALTER SYSTEM override of a managed setting is removed, the summary names it', () => {
  const t = autoConfWithoutManaged(DATA, new Set(['max_connections', 'wal_level']))
  const [probe] = t.resource.facts() as [Fact<unknown>]
  const plan = t.resource.plan(factValues([[probe, autoFile(HEADER + "max_connections = '500'\nwork_mem = '8MB'\n")]]))
  assert.is(plan.changed, true)
  assert.is(plan.summary, 'remove ALTER SYSTEM overrides of max_connections')
  assert.equal(plan.diff?.after, HEADER + "work_mem = '8MB'\n")
})

auto('nothing managed there, or no file at all: no change', () => {
  const t = autoConfWithoutManaged(DATA, new Set(['max_connections']))
  const [probe] = t.resource.facts() as [Fact<unknown>]
  assert.is(t.resource.plan(factValues([[probe, autoFile(HEADER + "work_mem = '8MB'\n")]])).changed, false)
  assert.is(t.resource.plan(factValues([[probe, { exists: false }]])).changed, false)
})

auto.run()
