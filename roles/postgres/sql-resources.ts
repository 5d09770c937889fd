// Objects inside a running server, as resources: login roles with passwords,
// databases with an owner, physical replication slots, and a dump restored
// once into an empty database. Plans read one batched probe of the server.
import { readFileSync } from 'node:fs'
import { BerthError, Secret, ShellCommand, guardOp, quote, raw, reveal, runOp, sh, task, writeOp, type CommandsPlan, type Plan, type Resource, type RunOperation, type Task } from '../../src/index.ts'
import { binDir, POSTGRES_HOME } from './layout.ts'
import { psql, psqlStdin, sqlIdent, sqlLiteral, type Server } from './psql.ts'
import { checkStoredPassword, scramSqlOnHost } from './scram.ts'
import { serverStateFact, tableCountFact, type ServerState, type TableCount } from './server-facts.ts'
import { ownershipFreeDump, type DumpFormat } from './dump.ts'

export interface LoginRoleInput {
  name: string
  password: string | Secret
  replication: boolean
}

export interface RolePlan extends Plan {
  /** The statement that sets the password, up to the verifier: `ALTER ROLE "x" LOGIN NOREPLICATION PASSWORD `. */
  statement?: string
}

const notRunning = (s: ServerState): string => `server not running yet${s.reason ? ` (${s.reason})` : ''}`

/** Pure: what CREATE or ALTER ROLE the role needs. */
export function planLoginRole(r: LoginRoleInput, server: ServerState): RolePlan {
  const existing = server.roles.get(r.name)
  const attrs = `LOGIN ${r.replication ? 'REPLICATION' : 'NOREPLICATION'}`
  if (!server.running) return { changed: true, summary: `create role ${r.name} (${notRunning(server)})` }
  if (!existing) return { changed: true, summary: `create role ${r.name} ${attrs} with a password`, statement: `CREATE ROLE ${sqlIdent(r.name)} ${attrs} PASSWORD ` }
  const notes: string[] = []
  if (!existing.login) notes.push('LOGIN')
  if (existing.replication !== r.replication && !existing.superuser) notes.push(r.replication ? 'REPLICATION' : 'NOREPLICATION')
  const pw = checkStoredPassword(existing.password, reveal(r.password), r.name)
  if (pw !== 'matches') notes.push(pw === 'md5' ? 'password stored as MD5: rehash as SCRAM' : pw === 'none' ? 'no password set' : 'password differs')
  if (notes.length === 0) return { changed: false, summary: `role ${r.name}: ${attrs}, password matches` }
  return { changed: true, summary: `alter role ${r.name}: ${notes.join(', ')}`, statement: `ALTER ROLE ${sqlIdent(r.name)} ${attrs} PASSWORD ` }
}

/**
 * A plan that needs the server's answers cannot be made while it is not
 * running: then it fails (in --check after changes that were not made, the
 * runner reports it as a change not seen yet). After the role's wait for the
 * server, the facts are read again, so a real run plans on the running server.
 */
function needsServer<P extends Plan>(what: string, server: ServerState, plan: P): P {
  if (plan.changed && !server.running)
    throw new BerthError(`${what}: the ${notRunning(server)}, so what it holds cannot be read`, {
      hint: 'the tasks before this one install and start it; journalctl -u postgresql@VERSION-main on the host says why it is not running',
    })
  return plan
}

/**
 * The operation that sets a role's password: the password goes on standard
 * input to a derivation on the host (scramSqlOnHost), whose statement goes
 * to psql on its standard input; neither is ever an argument. A runbook
 * writes it with the password's variable in place of the password.
 */
export function setPasswordOperation(s: Server, statement: string, password: string | Secret): RunOperation {
  const command = new ShellCommand(`sql=$(${scramSqlOnHost(statement, ';').text}) && printf '%s\\n' "$sql" | { ${psqlStdin(s, 'postgres').text}\n}`)
  return runOp(command, { stdin: reveal(password), sensitive: true })
}

export function loginRole(s: Server, r: LoginRoleInput): Task {
  const probe = serverStateFact(s)
  const res: Resource<RolePlan> = {
    title: `role ${r.name}${r.replication ? ' (replication)' : ''}`,
    facts: () => [probe],
    plan: (facts) => {
      const server = facts.get(probe)
      const plan = needsServer(`role ${r.name}`, server, planLoginRole(r, server))
      return { ...plan, operations: plan.statement ? [setPasswordOperation(s, plan.statement, r.password)] : [] }
    },
  }
  return task(res)
}

/** Pure: a database with this owner. */
export function planDatabase(name: string, owner: string, server: ServerState): CommandsPlan & { sql?: string[] } {
  if (!server.running) return { changed: true, summary: `create database ${name} owned by ${owner} (${notRunning(server)})`, commands: [] }
  const db = server.databases.get(name)
  if (!db) return { changed: true, summary: `create database ${name} owned by ${owner}`, commands: [], sql: [`CREATE DATABASE ${sqlIdent(name)} OWNER ${sqlIdent(owner)} ENCODING 'UTF8' TEMPLATE template0`] }
  if (db.owner !== owner) return { changed: true, summary: `database ${name}: owner ${db.owner} becomes ${owner}`, commands: [], sql: [`ALTER DATABASE ${sqlIdent(name)} OWNER TO ${sqlIdent(owner)}`] }
  return { changed: false, summary: `database ${name} owned by ${owner}`, commands: [] }
}

export function database(s: Server, name: string, owner: string): Task {
  const probe = serverStateFact(s)
  const res: Resource<CommandsPlan & { sql?: string[] }> = {
    title: `database ${name} (owner ${owner})`,
    facts: () => [probe],
    plan: (facts) => {
      const server = facts.get(probe)
      const plan = needsServer(`database ${name}`, server, planDatabase(name, owner, server))
      // CREATE DATABASE cannot run inside a transaction block: one -c per statement.
      return { ...plan, operations: (plan.sql ?? []).map((st) => runOp(psql(s, 'postgres', st))) }
    },
  }
  return task(res)
}

/** Pure: a physical replication slot, so the primary keeps the WAL a standby has not received. */
export function planSlot(name: string, server: ServerState): CommandsPlan {
  if (server.running && server.slots.has(name)) return { changed: false, summary: `slot ${name} exists`, commands: [] }
  return { changed: true, summary: `create physical replication slot ${name}${server.running ? '' : ` (${notRunning(server)})`}`, commands: [] }
}

export function replicationSlot(s: Server, name: string): Task {
  const probe = serverStateFact(s)
  const create = (): ShellCommand => psql(s, 'postgres', `SELECT pg_create_physical_replication_slot(${sqlLiteral(name)})`)
  const res: Resource<CommandsPlan> = {
    title: `replication slot ${name}`,
    facts: () => [probe],
    plan: (facts) => {
      const server = facts.get(probe)
      const plan = needsServer(`replication slot ${name}`, server, planSlot(name, server))
      return { ...plan, operations: plan.changed ? [runOp(create())] : [] }
    },
  }
  return task(res)
}

export interface RestoreInput {
  database: string
  /** The dump on the controller: pg_dump's plain SQL or custom (-Fc) format. */
  file: string
  /** The objects restored belong to this role (the dump's own owners are dropped). */
  owner: string
}

/** Pure: restore only into a database that holds no table yet; never over data. */
export function planRestore(r: RestoreInput, tables: TableCount): Plan {
  if (tables.database === 'present' && tables.tables > 0)
    return { changed: false, summary: `database ${r.database} holds ${tables.tables} relations: ${r.file} is not restored over them` }
  return { changed: true, summary: `restore ${r.file} into ${tables.database === 'present' ? 'the empty ' : ''}database ${r.database} as ${r.owner}` }
}

export function restoreCommand(s: Server, r: RestoreInput, remote: string, format: DumpFormat): ShellCommand {
  const bin = binDir(s.version)
  // One transaction each way: an interrupted restore leaves the database empty, and the next run restores again.
  if (format === 'custom')
    return sh`cd / && runuser -u postgres -- ${bin}/pg_restore --single-transaction --exit-on-error --no-owner --no-acl --role=${r.owner} -p ${s.port} -d ${r.database} ${remote}`
  return sh`cd / && runuser -u postgres -- ${bin}/psql -X -q -v ON_ERROR_STOP=1 -1 -p ${s.port} -d ${r.database} -f ${remote}`
}

export function restoreDump(s: Server, r: RestoreInput): Task {
  const probe = tableCountFact(s, r.database)
  const res: Resource<Plan> = {
    title: `restore ${r.database} from ${r.file} once`,
    facts: () => [probe],
    plan: (facts) => {
      const count = facts.get(probe)
      const plan = planRestore(r, count)
      if (!plan.changed) return plan
      // Facts are read again after the database task's change, so this is the database as it is now.
      if (count.database !== 'present')
        throw new BerthError(`cannot tell whether database ${r.database} is empty (${count.database}): not restoring ${r.file} blind`, {
          hint: 'the database task before this one creates it; check that the server runs and accepts the postgres account',
        })
      // The dump is read on the controller only when it is to be restored.
      const { content, format } = ownershipFreeDump(readFileSync(r.file), r.owner, r.file)
      const remote = `${POSTGRES_HOME}/.berth-restore-${r.database}`
      return {
        ...plan,
        operations: [
          // Its data is the registry's: never shown, and removed however the restore ends.
          writeOp(remote, content, { mode: '0600', owner: 'postgres', group: 'postgres', sensitive: true }),
          runOp(sh`trap ${`rm -f -- ${quote(remote)}`} EXIT; ${restoreCommand(s, r, remote, format)}`),
        ],
      }
    },
  }
  return task(res)
}

/**
 * The settings handler: reload, then ask the server whether any setting now
 * waits for a restart (pg_settings.pending_restart) and restart if so, so no
 * change is ever left silently unapplied and no restart is done for nothing.
 * Recorded as the rule, not the branch one run took: a command that reloads
 * and waits (bounded) until new sessions see the new configuration, then a
 * guard on pending_restart around the restart.
 */
export function reloadOrRestart(s: Server, unit: string): Task {
  const loadTime = psql(s, 'postgres', 'SELECT pg_conf_load_time()')
  const reload = new ShellCommand(
    [
      `before=$(${loadTime.text}) || { echo ${quote(`${unit} does not answer; look at journalctl -u ${unit}`)} >&2; exit 1; }`,
      `systemctl reload -- ${quote(unit)}`,
      // The reload is asynchronous (SIGHUP): wait until a new session sees a newer configuration load.
      `i=0; while [ "$(${loadTime.text})" = "$before" ]; do i=$((i+1)); if [ "$i" -ge 300 ]; then echo ${quote(`${unit} did not reread its configuration within 15 s of a reload; look at journalctl -u ${unit}`)} >&2; exit 1; fi; sleep 0.05; done`,
    ].join('\n'),
  )
  const pending = psql(s, 'postgres', 'SELECT name FROM pg_settings WHERE pending_restart ORDER BY name')
  const operations = [
    runOp(reload),
    guardOp(sh`[ -n "$(${raw(pending.text)})" ]`, 'a setting waits for a restart (pg_settings.pending_restart)', [runOp(sh`systemctl restart -- ${unit}`)]),
  ]
  const res: Resource<Plan> = {
    title: `reload ${unit}, restart if a setting waits for it`,
    facts: () => [],
    plan: () => ({ changed: true, summary: `reload ${unit}, restart if a setting waits for it`, operations }),
  }
  return task(res)
}
