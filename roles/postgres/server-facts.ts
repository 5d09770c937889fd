// What a running server holds: roles (with their stored password verifiers),
// databases and their owners, replication slots, and whether a database has
// any tables yet. One psql call each; a server that is not running (yet)
// answers `running: false`, which plans read as "everything is to be created".
import { fact, sh, type Fact, type ProbeOutput } from '../../src/index.ts'
import { binDir } from './layout.ts'
import { psql, type Server } from './psql.ts'

export interface RoleRow {
  name: string
  /** pg_authid.rolpassword: a SCRAM or MD5 verifier, or undefined. */
  password: string | undefined
  login: boolean
  replication: boolean
  superuser: boolean
}

export interface ServerState {
  running: boolean
  /** Why the server could not be asked (for summaries). */
  reason?: string
  inRecovery: boolean
  roles: ReadonlyMap<string, RoleRow>
  databases: ReadonlyMap<string, { owner: string }>
  slots: ReadonlySet<string>
}

const ROLES_SQL = "select 'role', rolname, coalesce(rolpassword, ''), rolcanlogin, rolreplication, rolsuper from pg_authid"
const DBS_SQL = "select 'db', datname, pg_get_userbyid(datdba) from pg_database"
const SLOTS_SQL = "select 'slot', slot_name from pg_replication_slots where slot_type = 'physical'"
const RECOVERY_SQL = "select 'recovery', pg_is_in_recovery()"

export function parseServerState(output: ProbeOutput): ServerState {
  const roles = new Map<string, RoleRow>()
  const databases = new Map<string, { owner: string }>()
  const slots = new Set<string>()
  if (output.code !== 0) {
    const reason = (output.stderr.trim().split('\n').pop() ?? '').trim() || `psql exited with code ${output.code}`
    return { running: false, reason, inRecovery: false, roles, databases, slots }
  }
  let inRecovery = false
  for (const line of output.stdout.split('\n')) {
    if (!line) continue
    const f = line.split('|')
    if (f[0] === 'role' && f.length === 6) roles.set(f[1] as string, { name: f[1] as string, password: f[2] || undefined, login: f[3] === 't', replication: f[4] === 't', superuser: f[5] === 't' })
    else if (f[0] === 'db' && f.length === 3) databases.set(f[1] as string, { owner: f[2] as string })
    else if (f[0] === 'slot' && f.length === 2) slots.add(f[1] as string)
    else if (f[0] === 'recovery' && f.length === 2) inRecovery = f[1] === 't'
    else throw new Error(`unexpected psql line: ${JSON.stringify(line.slice(0, 80))}`)
  }
  return { running: true, inRecovery, roles, databases, slots }
}

export function serverStateFact(s: Server): Fact<ServerState> {
  return fact(`pg-server:${s.version}:${s.port}`, psql(s, 'postgres', ROLES_SQL, DBS_SQL, SLOTS_SQL, RECOVERY_SQL), parseServerState, { slow: true })
}

export type TableCount = { database: 'absent' | 'unreachable' } | { database: 'present'; tables: number }

export const TABLES_SQL =
  "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'"

export function parseTableCount(output: ProbeOutput): TableCount {
  if (output.code === 0 && /^\d+\s*$/.test(output.stdout)) return { database: 'present', tables: Number(output.stdout.trim()) }
  if (/database ".*" does not exist/.test(output.stderr)) return { database: 'absent' }
  return { database: 'unreachable' }
}

/** How many relations (tables, views, sequences…) a database holds outside the system schemas. */
export function tableCountFact(s: Server, database: string): Fact<TableCount> {
  return fact(`pg-tables:${s.port}:${database}`, psql(s, database, TABLES_SQL), parseTableCount, { slow: true })
}

export type PrimaryIdentity = { reachable: true; systemId: string; timeline: number } | { reachable: false; reason: string }

export function parseIdentifySystem(output: ProbeOutput): PrimaryIdentity {
  const m = /^(\d+)\|(\d+)\|/m.exec(output.stdout)
  if (output.code === 0 && m) return { reachable: true, systemId: m[1] as string, timeline: Number(m[2]) }
  return { reachable: false, reason: (output.stderr.trim().split('\n').pop() ?? '').trim() || `psql exited with code ${output.code}` }
}

export interface PrimaryEndpoint {
  host: string
  port: number
  user: string
  /** libpq password file of the postgres account (mode 0600). */
  passfile: string
}

/** The primary's system identifier, over a replication connection from this host (IDENTIFY_SYSTEM). */
export function primaryIdentityFact(version: number, p: PrimaryEndpoint): Fact<PrimaryIdentity> {
  const conninfo = `host=${p.host} port=${p.port} user=${p.user} passfile=${p.passfile} dbname=replication replication=true connect_timeout=5`
  return fact(
    `pg-primary-identity:${p.host}:${p.port}`,
    sh`cd / && runuser -u postgres -- ${binDir(version)}/psql -XAtw ${conninfo} -c IDENTIFY_SYSTEM`,
    parseIdentifySystem,
    { slow: true },
  )
}

