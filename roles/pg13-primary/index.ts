// pg13-primary: Harbor's database server, the primary of a streaming pair, as
// the field runbook (seed 001, steps 3, 4 and 6) builds it by hand: the
// cluster at a chosen data directory, WAL archiving, a replication role and a
// slot per standby, Harbor's role and databases, and dumps restored once.
import { defineRole, type Secret, type Task } from '../../src/index.ts'
import { configTasks, databasesOf, handlersFor, installTasks, primarySettings, replicationPassfile, serverOf } from '../postgres/common-tasks.ts'
import { checkDumpFile, checkPassword, checkPostgresOptions, type Fail, POSTGRES_DEFAULTS, type PostgresOptions } from '../postgres/options.ts'
import { database, loginRole, replicationSlot, restoreDump } from '../postgres/sql-resources.ts'

export interface PgRestore {
  /** One of the role's databases. */
  database: string
  /** pg_dump output on the machine running the playbook (plain SQL or -Fc). */
  file: string
}

export interface PgPrimaryOptions extends PostgresOptions {
  /** Harbor's database password (from the vault). */
  harborPassword: string | Secret
  /** One physical replication slot per standby (slotNameFor(host)). */
  standbySlots: string[]
  /** Dumps restored into their database only while it holds no table. */
  restore: PgRestore[]
}

export const pg13PrimaryDefaults = { ...POSTGRES_DEFAULTS, standbySlots: [] as string[], restore: [] as PgRestore[] }

export const pg13Primary = defineRole<PgPrimaryOptions, typeof pg13PrimaryDefaults>({
  name: 'pg13-primary',
  defaults: pg13PrimaryDefaults,
  required: ['dataDir', 'archiveDir', 'replicationPassword', 'replicationFrom', 'harborClients', 'harborPassword'],
  validate: (o, fail) => {
    // fail is typed to this role's option names; the shared checks name the shared ones.
    const f = fail as unknown as Fail
    checkPostgresOptions(o, f)
    if (!Array.isArray(o.standbySlots) || o.standbySlots.some((s) => typeof s !== 'string' || !/^[a-z0-9_]{1,63}$/.test(s)))
      fail('standbySlots', `must be a list of slot names (lower case, digits, _), got ${JSON.stringify(o.standbySlots)}`)
    if (o.standbySlots.length > o.maxReplicationSlots) fail('maxReplicationSlots', `(${o.maxReplicationSlots}) is less than the ${o.standbySlots.length} standby slots`)
    checkPassword('harborPassword', o.harborPassword, f)
    if (!Array.isArray(o.restore)) fail('restore', 'must be a list of { database, file }')
    for (const r of o.restore) {
      if (!databasesOf(o).includes(r.database)) fail('restore', `names database '${r.database}', which is not one of ${databasesOf(o).join(', ')}`)
      checkDumpFile('restore', r.file, f)
    }
  },
  tasks: (o): Task[] => {
    const role = 'pg13-primary'
    const handlers = handlersFor(o)
    const input = { role, options: o, handlers, settings: primarySettings(o) }
    const s = serverOf(o)
    return [
      ...installTasks(input),
      // The start guard asks the other database hosts with it (roles/postgres/start-guard.ts).
      replicationPassfile(o).task,
      ...configTasks(input),
      loginRole(s, { name: o.replicationUser, password: o.replicationPassword, replication: true }).named(`replication role ${o.replicationUser}`),
      loginRole(s, { name: o.harborUser, password: o.harborPassword, replication: false }).named(`Harbor's role ${o.harborUser}`),
      ...databasesOf(o).map((db) => database(s, db, o.harborUser).named(`database ${db}`)),
      ...o.standbySlots.map((slot) => replicationSlot(s, slot).named(`replication slot ${slot}`)),
      ...o.restore.map((r) => restoreDump(s, { ...r, owner: o.harborUser }).named(`restore ${r.database} once`)),
    ]
  },
})

