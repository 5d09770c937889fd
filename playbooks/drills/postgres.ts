// What the PostgreSQL drills share: asking every database host what it is, a
// writer that logs every acknowledged write (RPO the Jepsen way: acknowledged
// and missing afterwards = lost), and the actions a switchover or failover
// takes, as tasks whose commands are recorded (the report and --runbook show
// them). Decisions are made from facts read just before each action.
import { BerthError, ConfigError, raw, reveal, sh, task, withCommandOperations, type Host, type Playbook, type Secret, type Task } from '../../src/index.ts'
import { BackgroundLoad, attemptLoop, type LoadSample } from '../../src/drill/load.ts'
import { DrillAbort, type Drill } from '../../src/drill/drill.ts'
import { waitUntil } from '../../src/wait-until.ts'
import { controlDataField } from '../../roles/postgres/cluster-facts.ts'
import { binDir, slotNameFor, unitName } from '../../roles/postgres/layout.ts'
import { pgpassLine, psql, sqlLiteral } from '../../roles/postgres/psql.ts'
import { describeNode, FENCE_FILE, lsnDiff, type PgNode } from '../../roles/postgres/topology.ts'
import { clusterAt, observeTopology } from '../tiers/database.ts'

export type Topology = Map<string, PgNode | { unreachable: string }>


export const nodeOf = (t: Topology, host: string): PgNode | undefined => {
  const n = t.get(host)
  return n && !('unreachable' in n) ? n : undefined
}

export const describeTopology = (t: Topology): Record<string, string> => Object.fromEntries([...t].map(([h, n]) => [h, describeNode(n)]))

/** Every host's description on one line: 'db1: primary, …; db2: standby, …'. */
export const showTopology = (t: Topology): string =>
  Object.entries(describeTopology(t))
    .map(([h, x]) => `${h}: ${x}`)
    .join('; ')

/** The drill's first step: what every database host is, recorded as the topology before. */
export async function topologyBefore(pb: Playbook, d: Drill): Promise<Topology> {
  const t = await d.step('read the topology from the hosts', async (s) => {
    const observed = await observeTopology(pb, 'drill: what each database host is')
    s.note(showTopology(observed))
    return observed
  })
  d.topology('before', describeTopology(t))
  return t
}

/** The `drill` variable (-e drill.KEY=…), as the first database host sees it. */
export const drillVars = <T extends object>(pb: Playbook): Partial<T> => pb.hosts('pg_primary:pg_standby')[0]?.var<Partial<T>>('drill', {}) ?? {}

/** The one writable primary and the streaming standbys, or an abort saying what is off. */
export function primaryAndStandbys(t: Topology): { primary: string; standbys: string[] } {
  const primaries = [...t].filter(([, n]) => !('unreachable' in n) && n.role === 'primary').map(([h]) => h)
  if (primaries.length !== 1)
    throw new DrillAbort(`expected exactly one writable primary, found ${primaries.length}${primaries.length ? ` (${primaries.join(', ')})` : ''}: ${showTopology(t)}`)
  const primary = primaries[0] as string
  const p = nodeOf(t, primary) as PgNode
  const standbys = [...t].filter(([h, n]) => h !== primary && !('unreachable' in n) && n.role === 'standby' && n.systemId === p.systemId && n.timeline === p.timeline).map(([h]) => h)
  return { primary, standbys }
}

/** psql as postgres on the host's own socket, one value per line. */
export async function query(h: Host, sql: string, db = 'postgres'): Promise<string> {
  const c = clusterAt(h)
  return (await h.run(psql(c, db, sql)).quiet()).stdout.trim()
}

/** A task that runs commands, changed, with a summary: how a drill's action is recorded. */
export function actionTask(title: string, summary: string, commands: ReturnType<typeof sh>[]): Task {
  return task({ title, facts: () => [], plan: () => withCommandOperations({ changed: true, summary, commands }) })
}

/** Run one action on one host as a play; its failure stops the drill (as a failure, not an abort). */
export async function act(pb: Playbook, host: string, title: string, summary: string, commands: ReturnType<typeof sh>[]): Promise<void> {
  const r = await pb.play(title, host, () => actionTask(title, summary, commands))
  if (!r.ok) {
    const row = r.results.get(host)?.find((x) => x.status === 'failed' || x.status === 'unreachable')
    throw new BerthError(`${host}: ${title}: ${row?.error?.message ?? row?.status ?? 'not run'}`)
  }
}

export const checkpointCommand = (h: Host) => psql(clusterAt(h), 'postgres', 'CHECKPOINT')
export const stopCommand = (h: Host) => sh`systemctl stop -- ${unitName(clusterAt(h))}`
export const startCommand = (h: Host) => sh`systemctl start -- ${unitName(clusterAt(h))}`
// pg_promote returns false (not an error) when it times out: a promotion still under way must stop the drill.
export const promoteCommand = (h: Host) => psql(clusterAt(h), 'postgres', "DO $$BEGIN IF NOT pg_promote(true, 60) THEN RAISE EXCEPTION 'pg_promote did not finish within 60 s'; END IF; END$$")
/** The fence record on a host: its start guard will not start it as a primary while it is there. */
export const fenceCommand = (why: string) => sh`mkdir -p -- ${FENCE_FILE.slice(0, FENCE_FILE.lastIndexOf('/'))} && printf '%s\n' ${why} > ${FENCE_FILE}`
export const unfenceCommand = () => sh`rm -f -- ${FENCE_FILE}`
/** A writer row's timeline (its detail: RETURNING timeline, 8 hex digits). */
export const rowTimeline = (detail: string): number => Number.parseInt(detail.trim().slice(0, 8), 16)

/** pg_controldata of a stopped cluster: its state, last checkpoint and timeline. */
export async function controlData(h: Host): Promise<{ state: string; checkpoint: string; timeline: number }> {
  const c = clusterAt(h)
  const out = (await h.$`LC_ALL=C ${binDir(c.version)}/pg_controldata ${c.dataDir}`.quiet()).stdout
  const state = controlDataField(out, 'Database cluster state')
  const checkpoint = controlDataField(out, 'Latest checkpoint location')
  const timeline = Number(controlDataField(out, "Latest checkpoint's TimeLineID"))
  if (!state || !checkpoint || !Number.isInteger(timeline)) throw new BerthError(`${h.name}: pg_controldata did not say the state, checkpoint and timeline: ${out.slice(0, 300)}`)
  return { state, checkpoint, timeline }
}

/** The switch point of `timeline` in the new primary's history: where the previous timeline ends. */
export async function switchPoint(h: Host, timeline: number): Promise<{ from: number; at: string }> {
  const file = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`
  const text = await query(h, `SELECT pg_read_file(${sqlLiteral(file)})`)
  const last = text.split('\n').filter((l) => /^\d+\s/.test(l)).at(-1)
  const m = last ? /^(\d+)\s+([0-9A-F]+\/[0-9A-F]+)/.exec(last) : null
  if (!m) throw new BerthError(`${h.name}: no switch point in ${file}: ${JSON.stringify(text.slice(0, 200))}`)
  return { from: Number(m[1]), at: m[2] as string }
}

// ---- the writer ----

export interface WriterSpec {
  /** The host the writer runs on (a client of the database: never the host a fault kills). */
  client: Host
  /** Every database host's address, in the order libpq tries them (target_session_attrs=read-write picks the writable one). */
  addresses: string[]
  port: number
  database: string
  user: string
  password: string | Secret
  /** Rows of this run carry it. */
  run: string
}

const WRITER_TABLE = 'berth_drill.writes'

/** The table the writer fills (on the primary, as postgres), owned by the writer's user. */
export function writerTableCommands(h: Host, database: string, user: string) {
  const c = clusterAt(h)
  return [
    psql(c, database, `CREATE SCHEMA IF NOT EXISTS berth_drill AUTHORIZATION "${user}"`),
    psql(
      c,
      database,
      `CREATE TABLE IF NOT EXISTS ${WRITER_TABLE} (run text NOT NULL, n bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), timeline text NOT NULL DEFAULT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8), PRIMARY KEY (run, n))`,
    ),
    psql(c, database, `ALTER TABLE ${WRITER_TABLE} OWNER TO "${user}"`),
  ]
}

export const dropWriterTableCommand = (h: Host, database: string) => psql(clusterAt(h), database, 'DROP SCHEMA IF EXISTS berth_drill CASCADE')

/** Start the writer: one autocommit INSERT per attempt, each row numbered; an acknowledged row is one psql returned 0 for. */
export async function startWriter(w: WriterSpec): Promise<BackgroundLoad> {
  const passfile = '/run/berth-load/writer.pgpass'
  await w.client.$`mkdir -p /run/berth-load`.quiet()
  await w.client.writeFile(passfile, pgpassLine('*', w.port, w.database, w.user, reveal(w.password)), { mode: '0600', sensitive: true })
  const conninfo = `host=${w.addresses.join(',')} port=${w.port} dbname=${w.database} user=${w.user} passfile=${passfile} target_session_attrs=read-write connect_timeout=2`
  const insert = `INSERT INTO ${WRITER_TABLE} (run, n) VALUES ('${w.run}', $i) RETURNING timeline`
  const attempt = sh`psql -XAtq -v ON_ERROR_STOP=1 ${conninfo} -c ${raw(`"${insert}"`)}`
  return BackgroundLoad.start(w.client, 'pg-writer', attemptLoop(attempt, 0.02), { removeOnStop: [passfile] })
}

export interface RowAudit {
  acknowledged: number
  /** Acknowledged by the old primary and not on the new one: lost. */
  lost: number[]
  /** Not acknowledged (the client saw an error) but committed all the same: not lost, reported. */
  unacknowledgedButPresent: number
  present: number
}

/** Compare the writer's log with the rows the primary holds now. */
export async function auditRows(primary: Host, database: string, run: string, samples: readonly LoadSample[]): Promise<RowAudit> {
  const rows = new Set((await query(primary, `SELECT n FROM ${WRITER_TABLE} WHERE run = ${sqlLiteral(run)}`, database)).split('\n').filter(Boolean).map(Number))
  const acked = samples.filter((s) => s.ok).map((s) => Number(s.id))
  const failed = samples.filter((s) => !s.ok).map((s) => Number(s.id))
  return {
    acknowledged: acked.length,
    lost: acked.filter((n) => !rows.has(n)),
    unacknowledgedButPresent: failed.filter((n) => rows.has(n)).length,
    present: rows.size,
  }
}

/** How far a standby is behind its primary, in bytes of WAL it has not received (the primary's current position minus the standby's). */
export function lagBytes(primary: PgNode, standby: PgNode): number | undefined {
  return primary.lsn && standby.lsn ? Math.max(0, lsnDiff(primary.lsn, standby.lsn)) : undefined
}

/** Is `standby` streaming from the primary (as the primary's pg_stat_replication says)? */
export async function streamingTo(primary: Host, standby: string): Promise<boolean> {
  const r = await query(primary, `SELECT count(*) FROM pg_stat_replication WHERE application_name = ${sqlLiteral(slotNameFor(standby))} AND state = 'streaming'`)
  return r === '1'
}

export function record(d: Drill, what: string, t: Topology): void {
  d.mark(`${what}: ${Object.entries(describeTopology(t)).map(([h, s]) => `${h} ${s}`).join('; ')}`)
}

export interface CandidatePosition {
  host: string
  /** pg_last_wal_receive_lsn (or replay) after the primary died; '' when the standby did not say. */
  lsn: string
}

/**
 * Pure: the standby to promote after the primary died at `lastSeen` (its last
 * WAL position read): the one that received the most, or the one named, and
 * never one further behind than `maxLagBytes` (Patroni's
 * maximum_lag_on_failover): an abort names the bound that would accept it.
 */
export function chooseCandidate(lastSeen: string, seen: readonly CandidatePosition[], o: { to?: string | undefined; maxLagBytes: number }): { host: string; lsn: string; lag: number } {
  const known = seen.filter((x) => /^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/.test(x.lsn)).map((x) => ({ ...x, lag: Math.max(0, lsnDiff(lastSeen, x.lsn)) }))
  const ranked = [...known].sort((a, b) => lsnDiff(b.lsn, a.lsn))
  const pick = o.to ? ranked.find((x) => x.host === o.to) : ranked[0]
  if (!pick)
    throw new DrillAbort(`${o.to ? `${o.to} does not say` : 'no standby says'} how much WAL it received: ${seen.map((x) => `${x.host}: ${x.lsn || 'no answer'}`).join('; ') || 'no standby'}; nothing was promoted`)
  if (pick.lag > o.maxLagBytes)
    throw new DrillAbort(`${pick.host} is ${pick.lag} bytes behind the primary's last position seen (${lastSeen}), above the bound of ${o.maxLagBytes} bytes: promoting it loses up to that much; nothing was promoted`, {
      hint: `to accept that loss, run again naming the bound: -e drill.maxLagBytes=${pick.lag}`,
    })
  return pick
}

/** drill.maxLagBytes: how far behind a standby may be and still be promoted; 1 MiB unless named. */
export function lagBound(v: unknown): number {
  if (v === undefined) return 1024 * 1024
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`drill.maxLagBytes must be a number of bytes, 0 or more, got ${JSON.stringify(v)}`, { hint: 'e.g. -e drill.maxLagBytes=1048576' })
  return v
}

/** A WAL file name: timeline, then the segment's number (log and seg, 8 hex digits each). */
const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{16})$/

/** Pure: the archive's files a restore from a backup starting in `startSegment` needs: every history file, and segments of any timeline from that number on. */
export function archiveFilesNeeded(files: readonly string[], startSegment: string): string[] {
  const from = SEGMENT.exec(startSegment)?.[2]
  if (!from) throw new Error(`not a WAL segment name: ${startSegment}`)
  return files.filter((f) => /^[0-9A-F]{8}\.history$/.test(f) || (SEGMENT.test(f) && (SEGMENT.exec(f)?.[2] ?? '') >= from)).sort()
}

/** A PostgreSQL time with its offset ('2026-12-04 15:00:00.5+00', '… +01:00', '…Z') as epoch ms; NaN without an offset or when unreadable. */
export function targetTimeMs(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?) ?(Z|[+-]\d\d(?::?\d\d)?)$/.exec(text.trim())
  if (!m) return Number.NaN
  const offset = m[3] === 'Z' ? 'Z' : `${(m[3] as string).slice(0, 3)}:${(m[3] as string).slice(3).replace(':', '') || '00'}`
  // JavaScript reads milliseconds, not microseconds.
  const clock = (m[2] as string).replace(/(\.\d{3})\d+$/, '$1')
  return Date.parse(`${m[1]}T${clock}${offset}`)
}

/** Harbor's database and user on the primary: where the writer writes. */
export function writerDatabase(primary: Host): { database: string; user: string } {
  const pg = primary.var<{ databases?: string[]; harborUser?: string }>('pg', {})
  return { database: pg.databases?.[0] ?? 'registry', user: pg.harborUser ?? 'harbor' }
}

export interface DrillWriter {
  writer: BackgroundLoad
  /** The rows of this drill carry it. */
  run: string
  database: string
  /** Cancel the rollback that stops the writer (once the drill has stopped it itself). */
  cancelStop: () => void
}

/**
 * The drill's writer, as two steps: its table on the primary, then the writer
 * on the client, started once its first row is acknowledged (15 s, else the
 * drill aborts); a rollback stops it should the drill end early.
 */
export async function writerSteps(pb: Playbook, d: Drill, o: { primary: Host; client: Host; addresses: readonly string[] }): Promise<DrillWriter> {
  const { database, user } = writerDatabase(o.primary)
  const run = `r${Date.now().toString(36)}`
  await d.step(`writer table on ${o.primary.name}`, () => act(pb, o.primary.name, 'drill: the writer table', `schema berth_drill in ${database}, owned by ${user}`, writerTableCommands(o.primary, database, user)))
  const writer = await d.step(`start the writer on ${o.client.name}`, async (s) => {
    const w = await startWriter({ client: o.client, addresses: [...o.addresses], port: clusterAt(o.primary).port, database, user, password: o.primary.need('pg_harbor_password', 'the drill writer'), run })
    const first = await waitUntil(() => w.samples(), (x) => x.some((y) => y.ok), { timeoutMs: 15_000 })
    if (!first.ok) {
      await w.stop()
      throw new DrillAbort(`the writer's first rows were not acknowledged within 15 s: ${first.value?.at(-1)?.detail ?? first.error ?? 'no output'}`)
    }
    s.note(`run ${run}, through ${o.addresses.join(',')}${o.addresses.length > 1 ? ' (target_session_attrs=read-write)' : ''}; first row acknowledged after ${(first.waitedMs / 1000).toFixed(2)} s`)
    return w
  })
  const cancelStop = d.onRollback('stop the writer', async () => void (await writer.stop()))
  return { writer, run, database, cancelStop }
}
