// What harbor-node checks before it starts anything, each a fact plus a pure
// verdict: the database is a writable primary (core migrates its schema at
// start and fails on a standby), the data volume is the mount the platform
// was to provide, and every node of the group sees the others' markers on it
// (two nodes on two different disks is the most common silent HA failure).
import { BerthError, fact, reveal, sh, task, type FactValues, type Resource, type Task } from '../../src/index.ts'
import type { HarborDatabase } from './options.ts'

export type PrimaryState = { role: 'primary' | 'standby' } | { error: string }

/** A line of a libpq password file: ':' and '\' escaped. */
export const pgpassLine = (d: HarborDatabase): string =>
  [d.host, String(d.port), d.name, d.user, reveal(d.password)].map((f) => f.replace(/[\\:]/g, (c) => `\\${c}`)).join(':') + '\n'

export function parseRecovery(o: { code: number | null; stdout: string; stderr: string }): PrimaryState {
  const out = o.stdout.trim()
  if (o.code === 0 && out === 'f') return { role: 'primary' }
  if (o.code === 0 && out === 't') return { role: 'standby' }
  return { error: (o.stderr.trim() || out || `exit ${o.code}`).split('\n').slice(-2).join(' ') }
}

export function databaseRoleFact(d: HarborDatabase, pgpass: string) {
  return fact(
    `pg-recovery:${d.host}:${d.port}/${d.name}`,
    sh`PGPASSFILE=${pgpass} PGCONNECT_TIMEOUT=5 psql -h ${d.host} -p ${d.port} -U ${d.user} -d ${d.name} -w -XAtqc 'SELECT pg_is_in_recovery()' 2>&1`,
    parseRecovery,
    { slow: true },
  )
}

/** Pure: the verdict on the database Harbor will migrate. */
export function checkPrimary(d: HarborDatabase, state: PrimaryState): { changed: false; summary: string } {
  const at = `${d.host}:${d.port}/${d.name}`
  if ('error' in state)
    throw new BerthError(`cannot ask the database at ${at} whether it is a primary: ${state.error}`, { hint: `check database.host/port/user/password, and that ${d.host}'s pg_hba.conf lets this node in` })
  if (state.role === 'standby')
    throw new BerthError(`database.host ${d.host} is a standby (pg_is_in_recovery() is true): Harbor's core migrates its schema at start and fails on a read-only server`, {
      hint: 'point database.host at the primary (or at the address that follows it)',
    })
  return { changed: false, summary: `${at} is a writable primary` }
}

export function databaseIsPrimary(d: HarborDatabase, pgpass: string): Task {
  const probe = databaseRoleFact(d, pgpass)
  const res: Resource = { title: `database ${d.host}:${d.port} is a writable primary`, facts: () => [probe], plan: (f: FactValues) => checkPrimary(d, f.get(probe)) }
  return task(res)
}

export const mountPointFact = (path: string) => fact(`mountpoint:${path}`, sh`mountpoint -q ${path} && echo mounted || echo not-mounted`, (o) => o.stdout.trim() === 'mounted')

/** storage kind 'mounted': the platform mounts the shared storage at the data volume; a plain directory there is local disk. */
export function dataVolumeMounted(dataVolume: string): Task {
  const probe = mountPointFact(dataVolume)
  const res: Resource = {
    title: `data volume ${dataVolume} is a mount`,
    facts: () => [probe],
    plan: (f: FactValues) => {
      if (f.get(probe)) return { changed: false, summary: `${dataVolume} is a mount point` }
      throw new BerthError(`dataVolume ${dataVolume} is not a mount point: storage { kind: 'mounted' } says the platform mounts the shared storage there`, {
        hint: `mount it first (findmnt ${dataVolume} shows nothing), or say where it lives with storage: { kind: 'nfs', … }`,
      })
    },
  }
  return task(res)
}

/** Where each node leaves its marker on the data volume. */
export const markerDir = (dataVolume: string): string => `${dataVolume}/.berth-nodes`

export const markersFact = (dataVolume: string) =>
  fact(`storage-markers:${dataVolume}`, sh`ls -1A ${markerDir(dataVolume)} 2>/dev/null || true`, (o) => o.stdout.split('\n').filter((l) => l.trim() !== ''))

/** Pure: this node must see the marker of every node of the group. */
export function checkMarkers(dataVolume: string, node: string, nodes: readonly string[], seen: readonly string[]): { changed: false; summary: string } {
  const missing = nodes.filter((n) => !seen.includes(n))
  if (missing.length === 0) return { changed: false, summary: `${nodes.length} node(s) share ${dataVolume}` }
  throw new BerthError(`${node} does not see the storage marker${missing.length > 1 ? 's' : ''} of ${missing.join(', ')} on ${dataVolume}: the nodes ${[node, ...missing].join(', ')} are not on one shared storage`, {
    hint: `each node wrote ${markerDir(dataVolume)}/<its name>; mount the same shared storage at ${dataVolume} on every node (findmnt ${dataVolume})`,
  })
}

export function storageShared(dataVolume: string, node: string, nodes: readonly string[]): Task {
  const probe = markersFact(dataVolume)
  const res: Resource = {
    title: `every node's marker visible on ${dataVolume}`,
    facts: () => [probe],
    plan: (f: FactValues) => checkMarkers(dataVolume, node, nodes, f.get(probe)),
  }
  return task(res)
}
