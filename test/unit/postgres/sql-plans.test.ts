import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import { secret } from '../../../src/secrets.ts'
import { checkStoredPassword, scramVerifier } from '../../../roles/postgres/scram.ts'
import { parseIdentifySystem, parseServerState, parseTableCount, serverStateFact, tableCountFact, type RoleRow, type ServerState } from '../../../roles/postgres/server-facts.ts'
import { database, loginRole, planDatabase, planLoginRole, planRestore, planSlot, replicationSlot, restoreCommand, type LoginRoleInput } from '../../../roles/postgres/sql-resources.ts'
import { ok } from './fixtures.ts'

const SERVER = { version: 15, port: 5432 }
const REPLICA_PW = 'rep-s3cret-pw'
const HARBOR_PW = 'harbor-s3cret-pw'
// Verifiers computed here: the real rolpassword values of the lab never enter the tests.
const REPLICA_VERIFIER = scramVerifier(REPLICA_PW, Buffer.from('0123456789abcdef'), 4096)
const HARBOR_VERIFIER = scramVerifier(HARBOR_PW, Buffer.from('fedcba9876543210'), 4096)

const state = (o: { roles?: RoleRow[]; databases?: [string, string][]; slots?: string[]; running?: boolean; reason?: string } = {}): ServerState => ({
  running: o.running ?? true,
  ...(o.reason === undefined ? {} : { reason: o.reason }),
  inRecovery: false,
  roles: new Map((o.roles ?? []).map((r) => [r.name, r])),
  databases: new Map((o.databases ?? []).map(([name, owner]) => [name, { owner }])),
  slots: new Set(o.slots ?? []),
})
const role = (name: string, password: string | undefined, o: Partial<RoleRow> = {}): RoleRow => ({ name, password, login: true, replication: false, superuser: false, ...o })
const NOT_RUNNING = state({ running: false, reason: 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory' })

const parse = suite('parseServerState')

// Shaped like the primary's probe output (captured), with verifiers made here.
const PRIMARY_OUTPUT = `role|postgres||t|t|t
role|pg_monitor||f|f|f
role|pg_signal_backend||f|f|f
role|replica|${REPLICA_VERIFIER}|t|t|f
role|harbor|${HARBOR_VERIFIER}|t|f|f
db|postgres|postgres
db|registry|harbor
db|template1|postgres
db|template0|postgres
slot|db2
recovery|f
`

parse('roles, databases, slots and recovery from one psql call', () => {
  const s = parseServerState(ok(PRIMARY_OUTPUT))
  assert.is(s.running, true)
  assert.is(s.inRecovery, false)
  assert.equal([...s.roles.keys()], ['postgres', 'pg_monitor', 'pg_signal_backend', 'replica', 'harbor'])
  assert.equal(s.roles.get('postgres'), { name: 'postgres', password: undefined, login: true, replication: true, superuser: true })
  assert.equal(s.roles.get('replica'), { name: 'replica', password: REPLICA_VERIFIER, login: true, replication: true, superuser: false })
  assert.equal(s.roles.get('pg_monitor'), { name: 'pg_monitor', password: undefined, login: false, replication: false, superuser: false })
  assert.equal(s.databases.get('registry'), { owner: 'harbor' })
  assert.is(s.databases.size, 4)
  assert.equal([...s.slots], ['db2'])
  assert.is(checkStoredPassword(s.roles.get('harbor')?.password, HARBOR_PW, 'harbor'), 'matches')
})

parse('a standby answers recovery t', () => {
  assert.is(parseServerState(ok('role|postgres||t|t|t\nrecovery|t\n')).inRecovery, true)
})

parse('psql failing: not running, the last stderr line as the reason', () => {
  const s = parseServerState({
    code: 2,
    stdout: '',
    stderr: 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n',
  })
  assert.is(s.running, false)
  assert.is(s.reason, 'Is the server running locally and accepting connections on that socket?')
  assert.is(s.roles.size + s.databases.size + s.slots.size, 0)
  assert.is(parseServerState({ code: 1, stdout: '', stderr: '' }).reason, 'psql exited with code 1')
})

parse('an unexpected line throws', () => {
  assert.throws(() => parseServerState(ok('role|x|t|t\n')), /unexpected psql line/)
  assert.throws(() => parseServerState(ok('hello\n')), /unexpected psql line/)
})

parse('the probe runs psql as postgres over the socket, on the port', () => {
  const f = serverStateFact(SERVER)
  assert.is(f.key, 'pg-server:15:5432')
  assert.ok(f.command.text.startsWith('cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -A -t -q -v ON_ERROR_STOP=1 -p 5432 -d postgres -c '), f.command.text)
  assert.ok(f.command.text.includes('from pg_authid'))
})

parse.run()

const login = suite('planLoginRole')
const REPLICA: LoginRoleInput = { name: 'replica', password: REPLICA_PW, replication: true }

login('server not running: changed, no statement, the reason in the summary', () => {
  const p = planLoginRole(REPLICA, NOT_RUNNING)
  assert.is(p.changed, true)
  assert.is(p.statement, undefined)
  assert.ok(p.summary?.includes('server not running yet'), p.summary)
  assert.ok(p.summary?.includes('No such file or directory'), p.summary)
})

login('absent: CREATE ROLE; the password appears in neither the statement nor the summary', () => {
  const p = planLoginRole(REPLICA, state({ roles: [role('postgres', undefined, { superuser: true })] }))
  assert.is(p.changed, true)
  assert.is(p.statement, 'CREATE ROLE "replica" LOGIN REPLICATION PASSWORD ')
  assert.not.ok(p.summary?.includes(REPLICA_PW))
})

login('a non-replication role: NOREPLICATION', () => {
  const p = planLoginRole({ name: 'harbor', password: HARBOR_PW, replication: false }, state())
  assert.is(p.statement, 'CREATE ROLE "harbor" LOGIN NOREPLICATION PASSWORD ')
})

login('a Secret password works the same', () => {
  const p = planLoginRole({ ...REPLICA, password: secret(REPLICA_PW) }, state({ roles: [role('replica', REPLICA_VERIFIER, { replication: true })] }))
  assert.is(p.changed, false)
})

login('present, attributes right, password matches: unchanged', () => {
  const p = planLoginRole(REPLICA, parseServerState(ok(PRIMARY_OUTPUT)))
  assert.equal(p, { changed: false, summary: 'role replica: LOGIN REPLICATION, password matches' })
})

login('password differs: ALTER ROLE', () => {
  const p = planLoginRole({ ...REPLICA, password: 'another-password' }, parseServerState(ok(PRIMARY_OUTPUT)))
  assert.is(p.changed, true)
  assert.is(p.summary, 'alter role replica: password differs')
  assert.is(p.statement, 'ALTER ROLE "replica" LOGIN REPLICATION PASSWORD ')
})

login('stored as MD5 of the same password: ALTER to rehash as SCRAM', () => {
  const md5 = 'md5' + createHash('md5').update(REPLICA_PW + 'replica').digest('hex')
  const p = planLoginRole(REPLICA, state({ roles: [role('replica', md5, { replication: true })] }))
  assert.is(p.changed, true)
  assert.ok(p.summary?.includes('rehash'), p.summary)
  assert.is(p.statement, 'ALTER ROLE "replica" LOGIN REPLICATION PASSWORD ')
})

login('no password, no LOGIN, replication missing: each noted', () => {
  const p = planLoginRole(REPLICA, state({ roles: [role('replica', undefined, { login: false })] }))
  assert.is(p.summary, 'alter role replica: LOGIN, REPLICATION, no password set')
  assert.is(p.statement, 'ALTER ROLE "replica" LOGIN REPLICATION PASSWORD ')
})

login('replication granted but not wanted: NOREPLICATION; a superuser is left alone on that', () => {
  const harbor: LoginRoleInput = { name: 'harbor', password: HARBOR_PW, replication: false }
  assert.is(planLoginRole(harbor, state({ roles: [role('harbor', HARBOR_VERIFIER, { replication: true })] })).summary, 'alter role harbor: NOREPLICATION')
  assert.is(planLoginRole(harbor, state({ roles: [role('harbor', HARBOR_VERIFIER, { replication: true, superuser: true })] })).changed, false)
})

login('the task plans from the server probe and never puts the password in its facts', () => {
  const t = loginRole(SERVER, REPLICA)
  const [probe] = t.resource.facts() as [Fact<unknown>]
  assert.not.ok(probe.command.text.includes(REPLICA_PW))
  const plan = t.resource.plan(factValues([[probe, state()]]))
  assert.is(plan.changed, true)
  assert.is(t.name, 'role replica (replication)')
})

login.run()

const db = suite('planDatabase')

db('absent: CREATE DATABASE ... OWNER, UTF8 from template0', () => {
  const p = planDatabase('registry', 'harbor', state({ databases: [['postgres', 'postgres']] }))
  assert.is(p.changed, true)
  assert.equal(p.sql, [`CREATE DATABASE "registry" OWNER "harbor" ENCODING 'UTF8' TEMPLATE template0`])
  assert.equal(p.commands, [])
})

db('another owner: ALTER DATABASE ... OWNER TO', () => {
  const p = planDatabase('registry', 'harbor', state({ databases: [['registry', 'postgres']] }))
  assert.is(p.changed, true)
  assert.equal(p.sql, ['ALTER DATABASE "registry" OWNER TO "harbor"'])
  assert.is(p.summary, 'database registry: owner postgres becomes harbor')
})

db('same owner: unchanged, no SQL', () => {
  const p = planDatabase('registry', 'harbor', parseServerState(ok(PRIMARY_OUTPUT)))
  assert.equal(p, { changed: false, summary: 'database registry owned by harbor', commands: [] })
})

db('server not running: changed, no SQL yet (apply plans again)', () => {
  const p = planDatabase('registry', 'harbor', NOT_RUNNING)
  assert.is(p.changed, true)
  assert.is(p.sql, undefined)
  assert.ok(p.summary?.includes('server not running yet'))
})

db('names are quoted as identifiers', () => {
  assert.equal(planDatabase('we"ird', 'harbor', state()).sql, [`CREATE DATABASE "we""ird" OWNER "harbor" ENCODING 'UTF8' TEMPLATE template0`])
})

db('the task reads the server probe', () => {
  const t = database(SERVER, 'registry', 'harbor')
  const [probe] = t.resource.facts() as [Fact<unknown>]
  assert.is(probe.key, 'pg-server:15:5432')
  assert.is(t.resource.plan(factValues([[probe, state({ databases: [['registry', 'harbor']] })]])).changed, false)
})

db.run()

const slot = suite('planSlot')

slot('exists: unchanged', () => {
  assert.equal(planSlot('db2', parseServerState(ok(PRIMARY_OUTPUT))), { changed: false, summary: 'slot db2 exists', commands: [] })
})

slot('missing: changed', () => {
  const p = planSlot('db3', parseServerState(ok(PRIMARY_OUTPUT)))
  assert.is(p.changed, true)
  assert.is(p.summary, 'create physical replication slot db3')
})

slot('server not running: changed, the reason said', () => {
  const p = planSlot('db2', NOT_RUNNING)
  assert.is(p.changed, true)
  assert.ok(p.summary?.startsWith('create physical replication slot db2 (server not running yet'), p.summary)
})

slot('the task', () => {
  const t = replicationSlot(SERVER, 'db2')
  const [probe] = t.resource.facts() as [Fact<unknown>]
  assert.is(t.resource.plan(factValues([[probe, state({ slots: ['db2'] })]])).changed, false)
  assert.is(t.resource.plan(factValues([[probe, state({ slots: ['other'] })]])).changed, true)
})

slot.run()

const restore = suite('planRestore')
const R = { database: 'registry', file: '/backups/registry.sql', owner: 'harbor' }

restore('tables there: unchanged, not restored over them', () => {
  const p = planRestore(R, { database: 'present', tables: 37 })
  assert.is(p.changed, false)
  assert.ok(p.summary?.includes('not restored'), p.summary)
  assert.ok(p.summary?.includes('37'))
})

restore('empty database: restore', () => {
  const p = planRestore(R, { database: 'present', tables: 0 })
  assert.is(p.changed, true)
  assert.is(p.summary, 'restore /backups/registry.sql into the empty database registry as harbor')
})

restore('database absent or unreachable: restore (apply counts again first)', () => {
  assert.is(planRestore(R, { database: 'absent' }).changed, true)
  assert.is(planRestore(R, { database: 'absent' }).summary, 'restore /backups/registry.sql into database registry as harbor')
  assert.is(planRestore(R, { database: 'unreachable' }).changed, true)
})

restore('restore commands: custom format through pg_restore as the owner, plain through psql in one transaction', () => {
  assert.is(
    restoreCommand(SERVER, R, '/var/lib/postgresql/.berth-restore-registry', 'custom').text,
    'cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_restore --single-transaction --exit-on-error --no-owner --no-acl --role=harbor -p 5432 -d registry /var/lib/postgresql/.berth-restore-registry',
  )
  assert.is(
    restoreCommand(SERVER, R, '/var/lib/postgresql/.berth-restore-registry', 'plain').text,
    'cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -1 -p 5432 -d registry -f /var/lib/postgresql/.berth-restore-registry',
  )
})

restore.run()

const counts = suite('parseTableCount')

counts('a count', () => {
  assert.equal(parseTableCount(ok('12\n')), { database: 'present', tables: 12 })
  assert.equal(parseTableCount(ok('0\n')), { database: 'present', tables: 0 })
})

counts('the database does not exist', () => {
  assert.equal(parseTableCount({ code: 2, stdout: '', stderr: 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database "registry" does not exist\n' }), { database: 'absent' })
})

counts('anything else is unreachable', () => {
  assert.equal(parseTableCount({ code: 2, stdout: '', stderr: 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory\n' }), { database: 'unreachable' })
  assert.equal(parseTableCount(ok('')), { database: 'unreachable' })
  assert.equal(parseTableCount(ok('ERROR\n')), { database: 'unreachable' })
})

counts('the probe is keyed by port and database', () => {
  const f = tableCountFact(SERVER, 'registry')
  assert.is(f.key, 'pg-tables:5432:registry')
  assert.ok(f.command.text.includes('-d registry'))
})

counts.run()

const identify = suite('parseIdentifySystem')

identify('IDENTIFY_SYSTEM answered: reachable with the system id and timeline', () => {
  assert.equal(parseIdentifySystem(ok('7714595833302423689|1|0/3000000|\n')), { reachable: true, systemId: '7714595833302423689', timeline: 1 })
  assert.equal(parseIdentifySystem(ok('7714595833302423689|3|0/5000060|\n')), { reachable: true, systemId: '7714595833302423689', timeline: 3 })
})

identify('a failure: unreachable, the last stderr line as the reason', () => {
  const r = parseIdentifySystem({
    code: 2,
    stdout: '',
    stderr: 'psql: error: connection to server at "10.0.0.5", port 5432 failed: FATAL:  password authentication failed for user "replica"\nconnection to server at "10.0.0.5", port 5432 failed: FATAL:  no pg_hba.conf entry for replication connection from host "10.0.0.6", user "replica", no encryption\n',
  })
  assert.equal(r, { reachable: false, reason: 'connection to server at "10.0.0.5", port 5432 failed: FATAL:  no pg_hba.conf entry for replication connection from host "10.0.0.6", user "replica", no encryption' })
})

identify('exit 0 without the row, or no stderr: unreachable with a reason', () => {
  assert.equal(parseIdentifySystem(ok('')), { reachable: false, reason: 'psql exited with code 0' })
  assert.equal(parseIdentifySystem({ code: 2, stdout: '', stderr: '' }), { reachable: false, reason: 'psql exited with code 2' })
})

identify.run()
