// The database tier of Harbor on a PostgreSQL primary/standby pair (field
// runbook seed 001), as a piece a playbook calls: the primary is the one host
// of group pg_primary; every host of pg_standby streams from it through its own
// replication slot. No top-level side effects: importing it runs nothing, so
// the Harbor playbooks build on it (playbooks/ha-pg-replicated.ts runs it alone).
//
// Variables: `pg` (an object of the roles' options, group_vars/postgres/main.yml),
// `pg_replication_password` and `pg_harbor_password` (the vault), and
// `pg_primary`: a host name that overrides the groups (-e pg_primary=db2 after
// a failover, until the inventory is edited to agree; every other host of
// pg_primary and pg_standby is then a standby).
//
// Before anything changes, every database host is asked what it is (topology
// from facts): the tier refuses to converge when another host than the
// inventory's primary accepts writes or was promoted past it, when the primary
// was fenced, or when two primaries run (roles/postgres/topology.ts).
import { ConfigError, copy, file, task, type Host, type Plan, type Playbook, type Resource, type Task } from '../../src/index.ts'
import { pg13Primary, type PgPrimaryOptions } from '../../roles/pg13-primary/index.ts'
import { pg13Standby, type PgStandbyOptions } from '../../roles/pg13-standby/index.ts'
import { slotNameFor } from '../../roles/postgres/layout.ts'
import { packageTasks } from '../../roles/postgres/common-tasks.ts'
import { describeNode, FENCE_FILE, judgeTopology, parsePgNode, pgNodeFact, topologyScript, type PgNode } from '../../roles/postgres/topology.ts'
import { START_ANYWAY_FILE } from '../../roles/postgres/start-guard.ts'
import { POSTGRES_DEFAULTS } from '../../roles/postgres/options.ts'

interface Peer {
  name: string
  address: string
}

const peers = (pb: Playbook, pattern: string): Peer[] =>
  // The whole inventory, not --limit: a standby needs its primary's address even when only the standby is played.
  pb.inventory.select(pattern).map((h) => ({ name: h.name, address: typeof h.vars.ansible_host === 'string' ? h.vars.ansible_host : h.name }))

/** The `pg` variable as the roles' options; the roles check every value. */
const pgVars = (h: Host): Partial<PgPrimaryOptions & PgStandbyOptions> => h.var<Partial<PgPrimaryOptions & PgStandbyOptions>>('pg', {})

/** The `pg_primary` override (-e pg_primary=HOST), when given. */
function primaryOverride(pb: Playbook): string | undefined {
  const values = new Set(peers(pb, 'pg_primary:pg_standby').map((p) => pb.inventory.host(p.name)?.vars.pg_primary).filter((v) => v !== undefined))
  if (values.size === 0) return undefined
  const [value, ...more] = [...values]
  if (more.length > 0 || typeof value !== 'string' || !peers(pb, 'pg_primary:pg_standby').some((p) => p.name === value))
    throw new ConfigError(`variable pg_primary must name one host of pg_primary or pg_standby, got ${[...values].map((v) => JSON.stringify(v)).join(', ')}`, {
      hint: `e.g. -e pg_primary=${peers(pb, 'pg_standby')[0]?.name ?? 'HOST'}`,
    })
  return value
}

/** The primary: the one host of group pg_primary, or the host `pg_primary` names (nothing is run). */
export function databasePrimary(pb: Playbook): Peer {
  const override = primaryOverride(pb)
  if (override) return peers(pb, 'pg_primary:pg_standby').find((p) => p.name === override) as Peer
  const primaries = peers(pb, 'pg_primary')
  const [primary, ...more] = primaries
  if (!primary || more.length > 0)
    throw new ConfigError(`group pg_primary must hold exactly one host, it holds ${primaries.length}${primaries.length ? ` (${primaries.map((p) => p.name).join(', ')})` : ''}`, {
      hint: 'put the primary in pg_primary and every standby in pg_standby',
    })
  return primary
}

/** What the database tier plays: its packages (one task list per database host) and its roles. */
function databasePlan(pb: Playbook, primaryName?: string) {
  const all = peers(pb, 'pg_primary:pg_standby')
  const primary = primaryName ? (all.find((p) => p.name === primaryName) ?? databasePrimary(pb)) : databasePrimary(pb)
  const standbys = all.filter((p) => p.name !== primary.name)
  const everyPostgresHost = all.map((p) => p.address)

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
  return { primary, standbys, primaryOptions, standbyOptions, packages }
}

/**
 * The roles' options for a given primary (a drill moves the primary before the
 * inventory does): `primary(h)` for pg13-primary on that host, `standby(h)` for
 * pg13-standby on any other, streaming from it.
 */
export function databaseRoleOptions(pb: Playbook, primaryName: string): { primary: (h: Host) => PgPrimaryOptions; standby: (h: Host) => PgStandbyOptions } {
  const plan = databasePlan(pb, primaryName)
  return {
    primary: (h) => pg13Primary.resolve(plan.primaryOptions(h)),
    standby: (h) => pg13Standby.resolve(plan.standbyOptions(h)),
  }
}

/** Where a host's cluster is, from its `pg` variable (the defaults otherwise). */
export function clusterAt(h: Host): { version: number; port: number; dataDir: string; cluster: string } {
  const v = pgVars(h)
  return { version: v.version ?? POSTGRES_DEFAULTS.version, port: v.port ?? POSTGRES_DEFAULTS.port, dataDir: h.need<string>('pg.dataDir', 'the database tier'), cluster: v.cluster ?? POSTGRES_DEFAULTS.cluster }
}

/** A read-only task: what this host's PostgreSQL is (primary, standby, down, none), its timeline and position. */
export function pgTopologyTask(h: Host): Task {
  const probe = pgNodeFact(clusterAt(h))
  const res: Resource<Plan & { node: PgNode }> = {
    title: 'what this database host is (role, timeline, WAL position)',
    facts: () => [probe],
    plan: (facts) => {
      const node = facts.get(probe)
      return { changed: false, summary: describeNode(node), node }
    },
  }
  return task(res).readOnly()
}

/** One host's answer outside a play (a host left out by --limit), read-only. */
async function askTopology(h: Host): Promise<PgNode | { unreachable: string }> {
  try {
    const r = await h.run(topologyScript(clusterAt(h))).quiet().nothrow()
    return parsePgNode({ code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr })
  } catch (e) {
    return { unreachable: (e as Error).message }
  }
}

/** Every database host's answer, from a topology play's results (unreachable hosts named as such). */
function observedTopology(results: ReadonlyMap<string, readonly { status: string; plan?: Plan | undefined; error?: Error | undefined }[]>): Map<string, PgNode | { unreachable: string }> {
  const out = new Map<string, PgNode | { unreachable: string }>()
  for (const [host, rows] of results) {
    const row = rows[0]
    const node = (row?.plan as { node?: PgNode } | undefined)?.node
    out.set(host, node ?? { unreachable: row?.error?.message ?? row?.status ?? 'not asked' })
  }
  return out
}

/**
 * What every database host is, in inventory order: a read-only play on the
 * hosts the run plays (so it is in the output), and asked directly for those
 * --limit leaves out, so a stale inventory is judged on every database host.
 */
export async function observeTopology(pb: Playbook, title: string): Promise<Map<string, PgNode | { unreachable: string }>> {
  const played = observedTopology((await pb.play(title, 'pg_primary:pg_standby', (h) => pgTopologyTask(h))).results)
  const observed = new Map<string, PgNode | { unreachable: string }>()
  for (const p of peers(pb, 'pg_primary:pg_standby')) observed.set(p.name, played.get(p.name) ?? (await askTopology(pb.host(p.name))))
  return observed
}

/** The database hosts' packages, for a playbook that installs every tier's packages in one play (empty for other hosts). */
export const databasePackages = (pb: Playbook): ((h: Host) => Task[]) => databasePlan(pb).packages

/**
 * The pair. `packages: false` when the playbook has installed the database
 * hosts' packages already (databasePackages in its own packages play).
 */
export async function databaseTier(pb: Playbook, opts: { packages?: boolean } = {}): Promise<{ primary: Peer }> {
  const { primary, standbys, primaryOptions, standbyOptions, packages } = databasePlan(pb)
  const overridden = primaryOverride(pb) !== undefined
  // The hosts say who is primary before anything changes: never a second primary from a stale inventory.
  const observed = await observeTopology(pb, 'PostgreSQL topology')
  judgeTopology(primary.name, observed, '-e pg_primary=HOST', { explicit: overridden })
  // Packages first on every database host at once (the installs dominate a first run); the roles then find them there.
  if (opts.packages !== false) await pb.play('PostgreSQL packages', 'pg_primary:pg_standby', packages)
  // With the pg_primary override the groups do not say who is who: the hosts are named.
  const standbyPattern = overridden ? standbys.map((p) => p.name).join(':') : 'pg_standby'
  // Named with the override while down or fenced: the operator's decision goes past its start guard, once.
  const named = observed.get(primary.name)
  if (overridden && named && !('unreachable' in named) && (named.role === 'down' || named.fenced))
    await pb.play(`-e pg_primary=${primary.name}: the operator's choice`, primary.name, () => [
      file({ path: FENCE_FILE, state: 'absent' }).named('its fence lifted (named the primary with -e pg_primary)'),
      copy({ path: START_ANYWAY_FILE, content: '# berth: named the primary with -e pg_primary; the start guard lets the next start through and removes this file\n', mode: '0644' }).named('its start guard lets the next start through'),
    ])
  await pb.play('PostgreSQL primary', overridden ? primary.name : 'pg_primary', (h) => pg13Primary(primaryOptions(h)))
  if (standbyPattern) await pb.play('PostgreSQL standby', standbyPattern, (h) => pg13Standby(standbyOptions(h)))
  return { primary }
}
