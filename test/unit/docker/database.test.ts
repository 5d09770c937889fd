// mysql-redis-compose's database half, as tables: options refused by name, the
// files (no secret in the compose file, each service's spec its own), and the
// decisions: the password check, the databases, the import done once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mysqlRedisCompose, renderProject } from '../../../roles/mysql-redis-compose/index.ts'
import { databaseEnv, parseMysqlImportState, parseMysqlLogin, planDatabases, planMysqlImport, planPassword, postgresPasswordState } from '../../../roles/mysql-redis-compose/database.ts'
import { databaseOf, redisOf, type DatabaseInput } from '../../../roles/mysql-redis-compose/options.ts'
import { scramVerifier } from '../../../roles/postgres/scram.ts'
import { optionFailure } from '../../support/option-failure.ts'
import type { Operation } from '../../../src/index.ts'

const PW = 'Lab-only-db-root-pw-0001'
const mysql: DatabaseInput = { engine: 'mysql', image: 'mysql:5.7', rootPassword: PW, dataDir: '/mysql57/data' }
const postgres: DatabaseInput = { engine: 'postgres', image: 'postgres:15', rootPassword: PW }
const project = { dir: '/opt/harbor-backing', name: 'harbor-backing' }
const refused = (database: object): string | undefined =>
  optionFailure(() => {
    mysqlRedisCompose({ database } as never)
  })

test('a database alone is enough; the seed\'s defaults for MySQL, Harbor\'s for PostgreSQL', () => {
  assert.is(refused(mysql), undefined)
  assert.equal(databaseOf(mysql), { engine: 'mysql', image: 'mysql:5.7', rootPassword: PW, dataDir: '/mysql57/data', port: 3306, characterSet: 'utf8', databases: [] })
  assert.equal(databaseOf(postgres), { engine: 'postgres', image: 'postgres:15', rootPassword: PW, dataDir: '/data/postgresql', port: 5432, databases: ['registry'] })
})

const rows: [string, object, RegExp][] = [
  ['an unknown engine', { ...mysql, engine: 'oracle' }, /engine must be 'mysql' or 'postgres'/],
  ['a short password', { ...mysql, rootPassword: 'short' }, /rootPassword must be at least 16 characters/],
  ['a password with $ (an env file would expand it)', { ...mysql, rootPassword: 'abcdefgh$ijklmnopq' }, /without spaces, quotes, backslashes, \$, # or backquotes/],
  ['a character set for PostgreSQL', { ...postgres, characterSet: 'utf8' }, /characterSet is a MySQL option/],
  ['databases for MySQL', { ...mysql, databases: ['registry'] }, /databases is for PostgreSQL/],
  ['a dump path that is not absolute', { ...mysql, restore: { database: 'registry', file: 'registry.dump' } }, /restore\.file must be an absolute path/],
  ['a database name that is not one', { ...mysql, restore: { database: 'reg;drop', file: '/r.sql' } }, /restore\.database must be a database name/],
]
for (const [name, database, message] of rows)
  test(`refused: ${name}`, () => {
    const m = refused(database)
    assert.ok(m, 'refused')
    assert.match(m, message)
    assert.not.ok(m.includes(PW))
  })

test('MySQL as the seed runs it: host networking, utf8, the data volume, the password only in the 0600 env file', () => {
  const d = databaseOf(mysql)
  const files = renderProject({ database: d })
  assert.not.ok(files.compose.includes(PW))
  assert.ok(files.compose.includes('  mysql:\n    image: "mysql:5.7"\n    network_mode: host\n'))
  assert.ok(files.compose.includes('command: ["--character-set-server=utf8","--port=3306"]'))
  assert.ok(files.compose.includes('env_file: ["./database.env"]'))
  assert.ok(files.compose.includes('- "/mysql57/data:/var/lib/mysql"'))
  // compose's health check reads the password from the container's environment ($$ is compose's $).
  assert.ok(files.compose.includes('MYSQL_PWD=\\"$$MYSQL_ROOT_PASSWORD\\" mysqladmin -uroot -h127.0.0.1 -P3306 ping'))
  assert.is(databaseEnv(d), `MYSQL_ROOT_PASSWORD=${PW}\n`)
  assert.not.ok('redis' in files.specs)
})

test('each service\'s spec is its own: a database beside Redis changes neither Redis\'s spec nor its text', () => {
  const r = redisOf({ image: 'redis:7', password: 'Zq7-lab-only-redis-pass_01', bind: ['127.0.0.1'] })
  const alone = renderProject({ redis: r })
  const both = renderProject({ redis: r, database: databaseOf(postgres) })
  assert.is(both.specs.redis, alone.specs.redis)
  assert.ok(both.compose.startsWith(alone.compose))
  assert.ok(both.specs.postgres)
  assert.is.not(renderProject({ database: databaseOf({ ...postgres, dataDir: '/srv/pg' }) }).specs.postgres, both.specs.postgres)
  assert.is(renderProject({ database: databaseOf({ ...postgres, rootPassword: 'another-password-0001' }) }).specs.postgres, both.specs.postgres, 'no password in a spec')
  assert.is(databaseEnv(databaseOf(postgres)), `POSTGRES_PASSWORD=${PW}\n`)
})

const shown = (ops: readonly Operation[] | undefined): string[] => (ops ?? []).map((o) => (o.kind === 'run' ? o.command.text : o.kind))

test('password: the vault\'s, or PostgreSQL\'s set on standard input, or MySQL\'s refusal named', () => {
  const pg = databaseOf(postgres)
  const stored = scramVerifier(PW)
  assert.equal(postgresPasswordState({ code: 0, stdout: `${stored}\n`, stderr: '' }, PW), { kind: 'matches' })
  const differs = postgresPasswordState({ code: 0, stdout: `${scramVerifier('another')}\n`, stderr: '' }, PW)
  assert.equal(differs, { kind: 'differs', how: 'password differs' })
  const plan = planPassword(pg, project, differs)
  const [op] = plan.operations ?? []
  assert.ok(op && op.kind === 'run' && op.sensitive === true)
  assert.match(shown(plan.operations)[0] ?? '', /docker exec -i "\$c" sh -c 'psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -p 5432 -d postgres'$/)
  assert.not.ok(shown(plan.operations).join(' ').includes(PW))
  assert.match(op && op.kind === 'run' ? (op.stdin?.toString() ?? '') : '', /^ALTER ROLE postgres PASSWORD 'SCRAM-SHA-256\$4096:/)
  const my = databaseOf(mysql)
  assert.equal(parseMysqlLogin({ code: 0, stdout: '1\n', stderr: '' }), { kind: 'matches' })
  const refusedLogin = parseMysqlLogin({ code: 1, stdout: '', stderr: "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)" })
  assert.is(refusedLogin.kind, 'differs')
  assert.throws(() => planPassword(my, project, refusedLogin), /the running MySQL refuses root with the vault's password/)
  assert.throws(() => planPassword(my, project, { kind: 'unknown', why: 'no container' }), /cannot log in to the mysql container/)
})

test('PostgreSQL databases: the missing ones created', () => {
  const pg = databaseOf(postgres)
  assert.is(planDatabases(pg, project, ['postgres', 'registry']).changed, false)
  assert.match(shown(planDatabases(pg, project, ['postgres']).operations)[0] ?? '', /CREATE DATABASE "registry"/)
})

const r = { database: 'registry', file: '/srv/registry.dump' }
test('MySQL import: into a database that does not exist; never again; an unfinished one stops the run', () => {
  assert.match(planMysqlImport(r, { database: 'absent', stamp: undefined }, '/p/.berth-imported-registry').summary, /import \/srv\/registry\.dump into the new database registry/)
  assert.is(planMysqlImport(r, { database: 'present', stamp: 'a'.repeat(64) }, '/p/s').changed, false)
  // The data directory wiped, the record kept: the database does not exist, so it is imported.
  assert.is(planMysqlImport(r, { database: 'absent', stamp: 'a'.repeat(64) }, '/p/s').changed, true)
  assert.throws(() => planMysqlImport(r, { database: 'present', stamp: undefined }, '/p/.berth-imported-registry'), /database registry exists but no import into it finished \(\/p\/\.berth-imported-registry is missing\)/)
  assert.equal(parseMysqlImportState({ code: 0, stdout: 'present\n--berth--\nabc\n', stderr: '' }), { database: 'present', stamp: 'abc' })
  assert.equal(parseMysqlImportState({ code: 0, stdout: 'absent\n--berth--\n', stderr: '' }), { database: 'absent', stamp: undefined })
})

test.run()
