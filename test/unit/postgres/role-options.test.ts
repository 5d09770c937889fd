import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { thrownBy } from './fixtures.ts'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RoleOptionError } from '../../../src/errors.ts'
import { secret } from '../../../src/secrets.ts'
import { pg13Primary } from '../../../roles/pg13-primary/index.ts'
import { pg13Standby } from '../../../roles/pg13-standby/index.ts'
import { primarySettings } from '../../../roles/postgres/common-tasks.ts'
import { databasesFor } from '../../../roles/postgres/options.ts'

type PrimaryInput = Parameters<typeof pg13Primary>[0]
type StandbyInput = Parameters<typeof pg13Standby>[0]

const SHARED = {
  version: 15,
  dataDir: '/data/pgsql/data',
  archiveDir: '/data/pgsql/archive',
  replicationPassword: 'rep-s3cret-pw',
  replicationFrom: ['10.0.0.5', '10.0.0.6'],
  harborClients: ['10.0.1.0/24'],
}
const PRIMARY: PrimaryInput = { ...SHARED, harborPassword: 'harbor-s3cret-pw', standbySlots: ['db2'] }
const STANDBY: StandbyInput = { ...SHARED, primaryHost: '10.0.0.5', slotName: 'db2' }


let tmp = ''
let dumpFile = ''

const primary = suite('pg13-primary')
primary.before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-pg-role-'))
  dumpFile = join(tmp, 'registry.sql')
  writeFileSync(dumpFile, 'SET client_encoding = \'UTF8\';\nCREATE TABLE public.t (id integer);\n')
})
primary.after(() => {
  rmSync(tmp, { recursive: true, force: true })
})

const names = (tasks: readonly { name: string }[], role: string): string[] => tasks.map((t) => t.name.replace(`${role} : `, ''))

primary('good options: install, configure, then roles, databases, slots and restores, in that order', () => {
  const tasks = names(pg13Primary({ ...PRIMARY, restore: [{ database: 'registry', file: dumpFile }] }).tasks, 'pg13-primary')
  assert.is(tasks[0], 'preflight: package available, directories usable')
  assert.ok(tasks.includes('packages postgresql-15'))
  assert.ok(tasks.indexOf('no unused package cluster in the way') < tasks.indexOf('cluster 15/main'))
  assert.ok(tasks.indexOf('cluster 15/main') < tasks.indexOf('settings applied by a restart'))
  assert.ok(tasks.indexOf('pg_hba.conf') < tasks.indexOf('service postgresql@15-main'))
  assert.equal(tasks.slice(-6), ['server accepts connections', 'replication role replica', "Harbor's role harbor", 'database registry', 'replication slot db2', 'restore registry once'])
  assert.not.ok(tasks.some((t) => t.includes('base backup')))
})

primary('every task name carries the role', () => {
  assert.ok(pg13Primary(PRIMARY).tasks.every((t) => t.name.startsWith('pg13-primary : ')))
})

primary('Harbor 2.8: one database task per notary database too', () => {
  const tasks = names(pg13Primary({ ...PRIMARY, harborVersion: '2.8' }).tasks, 'pg13-primary')
  assert.equal(tasks.filter((t) => t.startsWith('database ')), ['database registry', 'database notarysigner', 'database notaryserver'])
})

primary('a Secret password is accepted; defaults fill the rest', () => {
  const o = pg13Primary.resolve({ ...PRIMARY, replicationPassword: secret('rep-s3cret-pw'), harborPassword: secret('harbor-s3cret-pw') })
  assert.is(o.port, 5432)
  assert.is(o.cluster, 'main')
  assert.is(o.harborUser, 'harbor')
  assert.is(pg13Primary.resolve({ ...PRIMARY, version: undefined }).version, 13)
})

primary('the settings written: WAL archiving into archiveDir, replication, SCRAM, extra settings added', () => {
  const s = primarySettings(pg13Primary.resolve({ ...PRIMARY, settings: { work_mem: '64MB' } }))
  assert.is(s.archive_command, 'test ! -f /data/pgsql/archive/%f && cp %p /data/pgsql/archive/%f')
  assert.is(s.wal_level, 'replica')
  assert.is(s.archive_mode, 'on')
  assert.is(s.password_encryption, 'scram-sha-256')
  assert.is(s.listen_addresses, '*')
  assert.is(s.work_mem, '64MB')
})

// Some changes are ill-typed on purpose (options also come from -e and YAML variables).
const bad: [string, Record<string, unknown>, string, RegExp][] = [
  ['version 9', { version: 9 }, 'version', /must be one of 12, 13, 14, 15, 16, 17, got 9/],
  ['a relative dataDir', { dataDir: 'relative/path' }, 'dataDir', /must be an absolute path/],
  ['dataDir with a trailing slash', { dataDir: '/data/pgsql/data/' }, 'dataDir', /no trailing slash/],
  ['dataDir with a space', { dataDir: '/data/pg sql' }, 'dataDir', /may hold only/],
  ['archiveDir inside dataDir', { archiveDir: '/data/pgsql/data/archive' }, 'archiveDir', /must be outside dataDir/],
  ['archiveDir equal to dataDir', { archiveDir: '/data/pgsql/data' }, 'archiveDir', /must be outside dataDir/],
  ['archiveDir containing dataDir', { archiveDir: '/data' }, 'archiveDir', /must be outside dataDir/],
  ['notary databases for Harbor 2.11', { harborVersion: '2.11', databases: ['registry', 'notarysigner'] }, 'databases', /lists notarysigner, but Harbor 2.11 has no Notary/],
  ['an empty database list', { databases: [] }, 'databases', /must be a list of database names/],
  ['a short replication password', { replicationPassword: 'short' }, 'replicationPassword', /at least 8 characters/],
  ['a short Secret replication password', { replicationPassword: secret('short') }, 'replicationPassword', /at least 8 characters/],
  ['a replication password with a line break', { replicationPassword: 'long-enough\npassword' }, 'replicationPassword', /printable ASCII/],
  ['a short Harbor password', { harborPassword: 'short' }, 'harborPassword', /at least 8 characters/],
  ['a host name in replicationFrom', { replicationFrom: ['db2'] }, 'replicationFrom', /host names are not accepted/],
  ['a bad prefix in harborClients', { harborClients: ['10.0.0.0/33'] }, 'harborClients', /bad prefix length/],
  ['port 0', { port: 0 }, 'port', /must be a TCP port/],
  ['the same user twice', { harborUser: 'replica' }, 'harborUser', /must differ from replicationUser/],
  ['postgres as Harbor user', { harborUser: 'postgres' }, 'harborUser', /not postgres/],
  ['a bad slot size', { maxSlotWalKeepSize: '4 GB' }, 'maxSlotWalKeepSize', /must be a size/],
  ['more standby slots than replication slots', { standbySlots: ['db2', 'db3'], maxReplicationSlots: 1 }, 'maxReplicationSlots', /less than the 2 standby slots/],
  ['a bad standby slot name', { standbySlots: ['Bad-Name'] }, 'standbySlots', /must be a list of slot names/],
  ['an unparseable harborVersion', { harborVersion: 'latest' }, 'harborVersion', /must be a version/],
  ['a bad setting name', { settings: { 'work mem': '4MB' } }, 'settings', /not a postgresql.conf setting name/],
  ['a setting of the wrong type', { settings: { work_mem: null } }, 'settings', /must be a string, number or boolean/],
  ['a missing required option', { harborClients: undefined }, 'harborClients', /is missing/],
]
for (const [name, change, option, problem] of bad)
  primary(`refused: ${name} -> option '${option}'`, () => {
    const e = thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, ...change } as unknown as PrimaryInput))
    assert.is(e.option, option)
    assert.is(e.role, 'pg13-primary')
    assert.ok(problem.test(e.message), e.message)
    assert.ok(e.message.startsWith(`role pg13-primary: option '${option}' `), e.message)
  })

primary("a setting an option owns: refused, the hint names the option", () => {
  const e = thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, settings: { max_connections: 5 } }))
  assert.is(e.option, 'settings')
  assert.ok(e.message.includes("sets max_connections, which option 'maxConnections' owns"), e.message)
  assert.is(e.hint, 'set maxConnections instead')
  assert.is(thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, settings: { archive_command: 'true' } })).hint, 'set archiveDir instead')
})

primary('restore naming a file that is not on this machine: option restore', () => {
  const e = thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, restore: [{ database: 'registry', file: join(tmp, 'missing.sql') }] }))
  assert.is(e.option, 'restore')
  assert.ok(e.message.includes('missing.sql) is not a file on this machine'), e.message)
})

primary('restore naming a directory, or a database the role does not create: option restore', () => {
  assert.is(thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, restore: [{ database: 'registry', file: tmp }] })).option, 'restore')
  const e = thrownBy(RoleOptionError, () => pg13Primary({ ...PRIMARY, restore: [{ database: 'notarysigner', file: dumpFile }] }))
  assert.is(e.option, 'restore')
  assert.ok(e.message.includes("names database 'notarysigner', which is not one of registry"), e.message)
})

// PostgreSQL 12 has no max_slot_wal_keep_size: it would refuse to start with it.
primary('version 12: no max_slot_wal_keep_size in the settings; 13 and later have it', () => {
  assert.not.ok('max_slot_wal_keep_size' in primarySettings(pg13Primary.resolve({ ...PRIMARY, version: 12 })), 'PostgreSQL 12 has no max_slot_wal_keep_size')
  assert.is(primarySettings(pg13Primary.resolve({ ...PRIMARY, version: 13 })).max_slot_wal_keep_size, '4GB')
})

primary('settings the role fixes for replication are refused in settings', () => {
  for (const k of ['wal_level', 'archive_mode', 'wal_log_hints', 'password_encryption'])
    assert.throws(() => pg13Primary.resolve({ ...PRIMARY, settings: { [k]: 'x' } }), (e: unknown) => e instanceof RoleOptionError && e.option === 'settings' && e.message.includes(k))
  assert.throws(() => pg13Primary.resolve({ ...PRIMARY, settings: { work_mem: 'a\nb' } }), /line break/)
})

primary('passwords must be printable ASCII', () => {
  assert.throws(() => pg13Primary.resolve({ ...PRIMARY, harborPassword: 'caf\u00e9-password' }), (e: unknown) => e instanceof RoleOptionError && e.option === 'harborPassword' && /printable ASCII/.test(e.message))
})

primary.run()

const standby = suite('pg13-standby')

standby('good options: the passfile and the base backup come after the cluster and before the settings', () => {
  const tasks = names(pg13Standby(STANDBY).tasks, 'pg13-standby')
  const backup = tasks.indexOf('data directory: a base backup of the primary')
  assert.ok(backup > 0, JSON.stringify(tasks))
  assert.ok(tasks.indexOf('cluster 15/main') < backup)
  assert.ok(tasks.indexOf('replication password file (~postgres/.pgpass, 0600)') < backup)
  assert.ok(backup < tasks.indexOf('settings applied by a restart'))
  assert.ok(backup < tasks.indexOf('settings applied by a reload'))
  assert.ok(backup < tasks.indexOf('service postgresql@15-main'))
  assert.not.ok(tasks.some((t) => t.startsWith('replication role ') || t.startsWith('database ') || t.startsWith('replication slot ')), 'a standby creates no SQL objects')
})

const standbyBad: [string, Record<string, unknown>, string][] = [
  ['slotName with upper case and a dash', { slotName: 'Bad-Name' }, 'slotName'],
  ['a primaryHost with a space', { primaryHost: 'db 1' }, 'primaryHost'],
  ['primaryPort 70000', { primaryPort: 70000 }, 'primaryPort'],
  ['replaceDataDir as a word that spells no boolean', { replaceDataDir: 'maybe' }, 'replaceDataDir'],
  ['a duration without a number', { maxStandbyStreamingDelay: 'forever' }, 'maxStandbyStreamingDelay'],
  ['hot_standby_feedback in settings (the role owns it)', { settings: { hot_standby_feedback: false } }, 'settings'],
  ['primary_slot_name in settings (slotName owns it)', { settings: { primary_slot_name: 'x' } }, 'settings'],
  ['version 9', { version: 9 }, 'version'],
  ['a missing primaryHost', { primaryHost: undefined }, 'primaryHost'],
]
for (const [name, change, option] of standbyBad)
  standby(`refused: ${name} -> option '${option}'`, () => {
    const e = thrownBy(RoleOptionError, () => pg13Standby({ ...STANDBY, ...change } as unknown as StandbyInput))
    assert.is(e.option, option)
    assert.is(e.role, 'pg13-standby')
  })

standby('the hint for primary_slot_name names slotName', () => {
  assert.is(thrownBy(RoleOptionError, () => pg13Standby({ ...STANDBY, settings: { primary_slot_name: 'x' } })).hint, 'set slotName instead')
})

standby.run()

const dbs = suite('databasesFor')

dbs('Harbor up to 2.8 has the Notary databases; from 2.9 only registry', () => {
  assert.equal(databasesFor('2.8'), ['registry', 'notarysigner', 'notaryserver'])
  assert.equal(databasesFor('2.8.4'), ['registry', 'notarysigner', 'notaryserver'])
  assert.equal(databasesFor('1.10'), ['registry', 'notarysigner', 'notaryserver'])
  assert.equal(databasesFor('2.9'), ['registry'])
  assert.equal(databasesFor('2.11'), ['registry'])
  assert.equal(databasesFor('3.0'), ['registry'])
})

dbs.run()
