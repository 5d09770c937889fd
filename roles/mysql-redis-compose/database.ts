// The database service of the compose project: MySQL as field runbook seed
// 000 runs it (mysql:5.7, host networking, --character-set-server=utf8, root's
// password from MYSQL_ROOT_PASSWORD), or PostgreSQL (Harbor 1.6 and later).
// The password reaches the container through a 0600 env file and every client
// inside it reads it from the environment (MYSQL_PWD) or needs none (psql over
// the local socket): it is on no command line, on the host or in the container.
// A dump is imported once, into a database that does not exist (MySQL) or has
// no tables (PostgreSQL) yet.
import { readFileSync } from 'node:fs'
import { BerthError, fact, localFile, reveal, runOp, sh, ShellCommand, task, uploadOp, writeOp, type FactValues, type Plan, type ProbeOutput, type Resource, type Task } from '../../src/index.ts'
import { ownershipFreeDump } from '../postgres/dump.ts'
import { sqlIdent } from '../postgres/psql.ts'
import { checkStoredPassword, scramVerifier } from '../postgres/scram.ts'
import { parseTableCount, TABLES_SQL, type TableCount } from '../postgres/server-facts.ts'
import { planRestore } from '../postgres/sql-resources.ts'
import type { ComposeDatabaseOptions, DatabaseEngine } from './options.ts'

export interface Project {
  dir: string
  name: string
}

/** The compose service's name. */
export const databaseService = (engine: DatabaseEngine): string => engine

/** Where the image keeps its data (the dataDir volume's target). */
export const DATA_MOUNT: Record<DatabaseEngine, string> = { mysql: '/var/lib/mysql', postgres: '/var/lib/postgresql/data' }

export const DATABASE_ENV_FILE = 'database.env'

/** The env file compose hands the container: the superuser's password, as the images read it at initialisation. */
export const databaseEnv = (d: ComposeDatabaseOptions): string => `${d.engine === 'mysql' ? 'MYSQL_ROOT_PASSWORD' : 'POSTGRES_PASSWORD'}=${reveal(d.rootPassword)}\n`

/** The server's arguments (each image puts its server in front of arguments that start with '-'). */
export const databaseCommand = (d: ComposeDatabaseOptions): string[] =>
  d.engine === 'mysql' ? [...(d.characterSet ? [`--character-set-server=${d.characterSet}`] : []), `--port=${d.port}`] : ['-c', `port=${d.port}`]

/** Inside the container: the server answers (MySQL: mysqladmin ping, which succeeds even when refused, as a readiness probe should). */
export function databasePing(d: ComposeDatabaseOptions): string {
  return d.engine === 'mysql' ? `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysqladmin -uroot -h127.0.0.1 -P${d.port} ping` : `pg_isready -q -h 127.0.0.1 -p ${d.port} -U postgres`
}

/** The running container of a service, by compose's labels (docker-compose 1.x's `exec` costs a Python start-up). */
export const containerOf = (project: Project, service: string): string =>
  sh`docker ps -q --filter ${`label=com.docker.compose.project=${project.name}`} --filter ${`label=com.docker.compose.service=${service}`}`.text + ' | head -n1'

/** `docker exec` into the service's container; `script` runs under sh there (its $VARIABLES expand inside). */
export function execIn(project: Project, service: string, script: string, opts: { stdin?: boolean } = {}): ShellCommand {
  return new ShellCommand(`c=$(${containerOf(project, service)}) && [ -n "$c" ] && docker exec ${opts.stdin ? '-i ' : ''}"$c" sh -c ${sh`${script}`.text}`)
}

/** mysql as root inside the container, the password from the environment compose gave it. */
const mysqlClient = (d: ComposeDatabaseOptions, args = ''): string => `MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -h127.0.0.1 -P${d.port} --batch --skip-column-names${args ? ` ${args}` : ''}`
/** psql as postgres over the container's local socket (trust there, as the image sets it up). */
const psqlClient = (d: ComposeDatabaseOptions, database = 'postgres'): string => `psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -p ${d.port} -d ${sh`${database}`.text}`

export type PasswordState = { kind: 'matches' } | { kind: 'differs'; how: string } | { kind: 'unknown'; why: string }

/** MySQL: root logs in with the password compose gave the container, or is refused. */
export function parseMysqlLogin(o: ProbeOutput): PasswordState {
  if (o.code === 0 && o.stdout.trim() === '1') return { kind: 'matches' }
  const text = (o.stderr || o.stdout).trim()
  if (/Access denied/i.test(text)) return { kind: 'differs', how: text.split('\n').pop() ?? text }
  return { kind: 'unknown', why: text.split('\n').slice(-2).join(' ') || `exit ${o.code}` }
}

/** PostgreSQL: postgres's stored verifier against the vault's password (the probe prints it; it is never shown). */
export function postgresPasswordState(o: ProbeOutput, password: string): PasswordState {
  if (o.code !== 0) return { kind: 'unknown', why: (o.stderr.trim().split('\n').pop() ?? '') || `exit ${o.code}` }
  const check = checkStoredPassword(o.stdout.trim() || undefined, password, 'postgres')
  return check === 'matches' ? { kind: 'matches' } : { kind: 'differs', how: check === 'md5' ? 'stored as MD5' : check === 'none' ? 'no password set' : 'password differs' }
}

/**
 * The images read the password only when they initialise an empty data
 * directory: a password changed in the vault later must be set in the server.
 * PostgreSQL: berth sets it (ALTER ROLE with a SCRAM verifier, on standard
 * input). MySQL: the old one would be needed to log in, so berth stops and says so.
 */
export function planPassword(d: ComposeDatabaseOptions, project: Project, state: PasswordState): Plan {
  const who = d.engine === 'mysql' ? 'root' : 'postgres'
  if (state.kind === 'matches') return { changed: false, summary: `${who}'s password is the vault's` }
  if (state.kind === 'unknown') throw new BerthError(`cannot log in to the ${d.engine} container to check ${who}'s password: ${state.why}`, { hint: `docker logs of the ${databaseService(d.engine)} container say why` })
  if (d.engine === 'mysql')
    throw new BerthError(`the running MySQL refuses root with the vault's password (${state.how}): the image set root's password when ${d.dataDir} was first initialised, from an older value`, {
      hint: `log in with the old password and run ALTER USER 'root'@'localhost' and 'root'@'%' IDENTIFIED BY the new one, or put the old one back in the vault`,
    })
  const sql = `ALTER ROLE postgres PASSWORD '${scramVerifier(reveal(d.rootPassword))}';\n`
  return {
    changed: true,
    summary: `set postgres's password to the vault's (${state.how})`,
    operations: [runOp(execIn(project, databaseService(d.engine), psqlClient(d), { stdin: true }), { stdin: sql, sensitive: true })],
  }
}

export function passwordMatches(d: ComposeDatabaseOptions, project: Project): Task {
  const service = databaseService(d.engine)
  const probe =
    d.engine === 'mysql'
      ? fact(`mysql-root-login:${project.name}`, execIn(project, service, mysqlClient(d, "-e 'SELECT 1'")), parseMysqlLogin)
      : fact(`postgres-verifier:${project.name}`, execIn(project, service, `${psqlClient(d)} -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'"`), (o) => postgresPasswordState(o, reveal(d.rootPassword)))
  const res: Resource = {
    title: `${d.engine === 'mysql' ? 'root' : 'postgres'}'s password in the running server is the vault's`,
    facts: () => [probe],
    plan: (f: FactValues) => planPassword(d, project, f.get(probe)),
  }
  return task(res)
}

/** PostgreSQL: the databases that exist. */
export function parseDatabaseList(o: ProbeOutput): string[] | { unknown: string } {
  if (o.code !== 0) return { unknown: (o.stderr.trim().split('\n').pop() ?? '') || `exit ${o.code}` }
  return o.stdout.split('\n').map((l) => l.trim()).filter(Boolean)
}

export function planDatabases(d: ComposeDatabaseOptions, project: Project, present: string[] | { unknown: string }): Plan {
  if (!Array.isArray(present)) throw new BerthError(`cannot list the databases in the postgres container: ${present.unknown}`)
  const missing = d.databases.filter((n) => !present.includes(n))
  if (missing.length === 0) return { changed: false, summary: `${d.databases.join(', ')} present` }
  return {
    changed: true,
    summary: `create database ${missing.join(', ')}`,
    operations: missing.map((n) => runOp(execIn(project, databaseService(d.engine), `${psqlClient(d)} -c ${sh`${`CREATE DATABASE ${sqlIdent(n)}`}`.text}`))),
  }
}

export function databasesPresent(d: ComposeDatabaseOptions, project: Project): Task {
  const probe = fact(`postgres-databases:${project.name}`, execIn(project, databaseService(d.engine), `${psqlClient(d)} -c 'SELECT datname FROM pg_database'`), parseDatabaseList)
  const res: Resource = { title: `databases ${d.databases.join(', ')}`, facts: () => [probe], plan: (f: FactValues) => planDatabases(d, project, f.get(probe)) }
  return task(res)
}

/** Where the import's record is kept: the dump's sha256, written once the import finished. */
export const restoreStamp = (project: Project, database: string): string => `${project.dir}/.berth-imported-${database}`

export interface MysqlImportState {
  database: 'present' | 'absent'
  /** The sha256 recorded when an import finished, if one did. */
  stamp: string | undefined
}

export function parseMysqlImportState(o: ProbeOutput): MysqlImportState | { unknown: string } {
  const [list = '', stamp = ''] = o.stdout.split('--berth--\n')
  if (!/^(present|absent)\s*$/.test(list)) return { unknown: (o.stderr.trim().split('\n').pop() ?? '') || list.trim() || `exit ${o.code}` }
  return { database: list.trim() as 'present' | 'absent', stamp: stamp.trim() || undefined }
}

/**
 * Pure, MySQL: import only into a database that does not exist. The database is
 * made first and the record written last, so an import that stopped halfway
 * leaves a database without a record: berth then stops rather than import over
 * it or call it done.
 */
export function planMysqlImport(r: { database: string; file: string }, state: MysqlImportState, stampPath: string): { changed: boolean; summary: string } {
  if (state.database === 'absent') return { changed: true, summary: `import ${r.file} into the new database ${r.database}` }
  if (state.stamp !== undefined) return { changed: false, summary: `database ${r.database} was imported (${state.stamp.slice(0, 12)}…); not imported again` }
  throw new BerthError(`database ${r.database} exists but no import into it finished (${stampPath} is missing): an import that stopped halfway, or a database made by hand; not importing over it`, {
    hint: `if an import stopped halfway: DROP DATABASE ${r.database} in the mysql container and run again; if the database holds data to keep, leave restore out of the options`,
  })
}

export function mysqlImport(d: ComposeDatabaseOptions, project: Project, r: { database: string; file: string }): Task {
  const service = databaseService(d.engine)
  const stamp = restoreStamp(project, r.database)
  const probe = fact(
    `mysql-import:${project.name}:${r.database}`,
    new ShellCommand(
      `${execIn(project, service, mysqlClient(d, `-e ${sh`${`SHOW DATABASES LIKE '${r.database}'`}`.text}`)).text} | grep -qx ${sh`${r.database}`.text} && echo present || echo absent; echo --berth--; cat ${sh`${stamp}`.text} 2>/dev/null || true`,
    ),
    parseMysqlImportState,
  )
  const res: Resource = {
    title: `import ${r.file} into ${r.database} once`,
    facts: () => [probe],
    plan: (f: FactValues) => {
      const state = f.get(probe)
      if ('unknown' in state) throw new BerthError(`cannot ask the mysql container whether database ${r.database} exists: ${state.unknown}`)
      const p = planMysqlImport(r, state, stamp)
      if (!p.changed) return p
      const file = localFile(r.file)
      const onHost = `${project.dir}/.berth-import-${r.database}.sql`
      return {
        ...p,
        operations: [
          // The registry's data: kept 0600 and removed however the import ends.
          uploadOp(r.file, onHost, file, { mode: '0600' }),
          runOp(
            new ShellCommand(
              `trap ${sh`${`rm -f -- ${onHost}`}`.text} EXIT; ` +
                `${execIn(project, service, mysqlClient(d, `-e ${sh`${`CREATE DATABASE ${r.database}`}`.text}`)).text} && ` +
                `${execIn(project, service, mysqlClient(d, r.database), { stdin: true }).text} < ${sh`${onHost}`.text} && ` +
                `printf '%s\\n' ${file.sha256} > ${sh`${stamp}`.text}`,
            ),
          ),
        ],
      }
    },
  }
  return task(res)
}

/** PostgreSQL: the restore pg13-primary does (one transaction, the dump's owners dropped), run in the container. */
export function postgresRestore(d: ComposeDatabaseOptions, project: Project, r: { database: string; file: string }): Task {
  const service = databaseService(d.engine)
  const probe = fact(`postgres-tables:${project.name}:${r.database}`, execIn(project, service, `${psqlClient(d, r.database)} -c ${sh`${TABLES_SQL}`.text}`), parseTableCount)
  const res: Resource = {
    title: `restore ${r.file} into ${r.database} once`,
    facts: () => [probe],
    plan: (f: FactValues) => {
      const count: TableCount = f.get(probe)
      const plan = planRestore({ ...r, owner: 'postgres' }, count)
      if (!plan.changed) return plan
      if (count.database !== 'present')
        throw new BerthError(`cannot tell whether database ${r.database} is empty (${count.database}): not restoring ${r.file} blind`, { hint: `give ${r.database} in databases so that it is created first` })
      const { content, format } = ownershipFreeDump(readFileSync(r.file), 'postgres', r.file)
      const onHost = `${project.dir}/.berth-restore-${r.database}`
      const restore = format === 'custom' ? `pg_restore --single-transaction --exit-on-error --no-owner --no-acl -U postgres -p ${d.port} -d ${sh`${r.database}`.text}` : `${psqlClient(d, r.database)} -1`
      return {
        ...plan,
        operations: [
          writeOp(onHost, content, { mode: '0600', sensitive: true }),
          runOp(new ShellCommand(`trap ${sh`${`rm -f -- ${onHost}`}`.text} EXIT; ${execIn(project, service, restore, { stdin: true }).text} < ${sh`${onHost}`.text}`)),
        ],
      }
    },
  }
  return task(res)
}
