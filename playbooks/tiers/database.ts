// The database tier of Harbor on a PostgreSQL primary/standby pair (field
// runbook seed 001), as a piece a playbook calls: the primary is the one host
// of group pg_primary; every host of pg_standby streams from it through its own
// replication slot. No top-level side effects: importing it runs nothing, so
// the Harbor playbooks build on it (playbooks/ha-pg-replicated.ts runs it alone).
//
// Variables: `pg` (an object of the roles' options, group_vars/postgres/main.yml),
// `pg_replication_password` and `pg_harbor_password` (the vault).
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import { pg13Primary, type PgPrimaryOptions } from '../../roles/pg13-primary/index.ts'
import { pg13Standby, type PgStandbyOptions } from '../../roles/pg13-standby/index.ts'
import { slotNameFor } from '../../roles/postgres/layout.ts'
import { packageTasks } from '../../roles/postgres/common-tasks.ts'

interface Peer {
  name: string
  address: string
}

const peers = (pb: Playbook, pattern: string): Peer[] =>
  // The whole inventory, not --limit: a standby needs its primary's address even when only the standby is played.
  pb.inventory.select(pattern).map((h) => ({ name: h.name, address: typeof h.vars.ansible_host === 'string' ? h.vars.ansible_host : h.name }))

/** The `pg` variable as the roles' options; the roles check every value. */
const pgVars = (h: Host): Partial<PgPrimaryOptions & PgStandbyOptions> => h.var<Partial<PgPrimaryOptions & PgStandbyOptions>>('pg', {})

/** The one host of group pg_primary, from the inventory (nothing is run). */
export function databasePrimary(pb: Playbook): Peer {
  const primaries = peers(pb, 'pg_primary')
  const [primary, ...more] = primaries
  if (!primary || more.length > 0)
    throw new ConfigError(`group pg_primary must hold exactly one host, it holds ${primaries.length}${primaries.length ? ` (${primaries.map((p) => p.name).join(', ')})` : ''}`, {
      hint: 'put the primary in pg_primary and every standby in pg_standby',
    })
  return primary
}

/** What the database tier plays: its packages (one task list per database host) and its roles. */
function databasePlan(pb: Playbook) {
  const primary = databasePrimary(pb)
  const standbys = peers(pb, 'pg_standby')
  const everyPostgresHost = [primary, ...standbys].map((p) => p.address)

  /** What both roles take from the host's variables and the inventory. */
  const shared = (h: Host, role: string) => ({
    ...pgVars(h),
    dataDir: h.need<string>('pg.dataDir', role),
    archiveDir: h.need<string>('pg.archiveDir', role),
    harborClients: h.need<string[]>('pg.harborClients', role),
    replicationPassword: h.need<string>('pg_replication_password', role),
    replicationFrom: everyPostgresHost,
  })
  const primaryOptions = (h: Host) => ({
    ...shared(h, 'pg13-primary'),
    harborPassword: h.need<string>('pg_harbor_password', 'pg13-primary'),
    standbySlots: standbys.map((s) => slotNameFor(s.name)),
  })
  const standbyOptions = (h: Host) => ({ ...shared(h, 'pg13-standby'), primaryHost: primary.address, slotName: slotNameFor(h.name) })
  const databaseHosts = new Set([primary.name, ...standbys.map((s) => s.name)])
  const packages = (h: Host): Task[] =>
    !databaseHosts.has(h.name)
      ? []
      : h.name === primary.name
        ? packageTasks('pg13-primary', pg13Primary.resolve(primaryOptions(h)))
        : packageTasks('pg13-standby', pg13Standby.resolve(standbyOptions(h)))
  return { primary, primaryOptions, standbyOptions, packages }
}

/** The database hosts' packages, for a playbook that installs every tier's packages in one play (empty for other hosts). */
export const databasePackages = (pb: Playbook): ((h: Host) => Task[]) => databasePlan(pb).packages

/**
 * The pair. `packages: false` when the playbook has installed the database
 * hosts' packages already (databasePackages in its own packages play).
 */
export async function databaseTier(pb: Playbook, opts: { packages?: boolean } = {}): Promise<{ primary: Peer }> {
  const { primary, primaryOptions, standbyOptions, packages } = databasePlan(pb)
  // Packages first on every database host at once (the installs dominate a first run); the roles then find them there.
  if (opts.packages !== false) await pb.play('PostgreSQL packages', 'pg_primary:pg_standby', packages)
  await pb.play('PostgreSQL primary', 'pg_primary', (h) => pg13Primary(primaryOptions(h)))
  await pb.play('PostgreSQL standby', 'pg_standby', (h) => pg13Standby(standbyOptions(h)))
  return { primary }
}
