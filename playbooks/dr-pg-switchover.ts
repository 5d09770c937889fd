#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Drill: a planned switchover of the PostgreSQL pair and the switchback, with
// nothing lost (seed 001's "switching back is the same dance in reverse", done
// the way Patroni and repmgr do it). Under a writer that logs every
// acknowledged row:
//
//   1. CHECKPOINT the primary, stop it (fast shutdown: the walsender sends all
//      WAL and the shutdown checkpoint before it exits);
//   2. read its shutdown checkpoint (pg_controldata) and wait, bounded, until
//      the standby has received past it; abort otherwise (the old primary is
//      started again, nothing was promoted);
//   3. promote the standby (pg_promote), CHECKPOINT it, give it a slot for the
//      old primary;
//   4. check the old primary's WAL ends before the new timeline's switch point
//      (the .history file), so it follows without pg_rewind; write
//      standby.signal and converge it with pg13-standby pointing at the new
//      primary; wait until it streams;
//   5. the same back; then converge the pair as the inventory says.
//
// The report (drill-reports/pg-switchover-*.md and .json) gives each leg's
// write downtime, the rows acknowledged and missing (must be 0: the verdict
// fails otherwise), the WAL beyond the switch point, timelines before/after.
//
//   ./playbooks/dr-pg-switchover.ts -i inventory/lab.yml
//   ... -e drill.to=db2            the standby to switch to (default: the streaming one with the least lag)
//   ... -e drill.maxLagBytes=N     refuse to start when the standby is further behind (default 1 MiB, Patroni's)
//   ... -e drill.client=HOST       where the writer runs (default: the target standby)
//   npm run drill -- pg-switchover  on the lab, from a fresh converge
import { playbook, sh, type Host, type Playbook } from '../src/index.ts'
import { drill, DrillAbort, type Drill } from '../src/drill/drill.ts'
import { outageAfter, type BackgroundLoad } from '../src/drill/load.ts'
import { waitUntil } from '../src/wait-until.ts'
import { slotNameFor } from '../roles/postgres/layout.ts'
import { psql, sqlLiteral } from '../roles/postgres/psql.ts'
import { lsnDiff } from '../roles/postgres/topology.ts'
import { pg13Standby } from '../roles/pg13-standby/index.ts'
import { clusterAt, databaseRoleOptions, databaseTier, observeTopology } from './tiers/database.ts'
import {
  act,
  auditRows,
  checkpointCommand,
  controlData,
  describeTopology,
  dropWriterTableCommand,
  lagBytes,
  nodeOf,
  primaryAndStandbys,
  promoteCommand,
  query,
  record,
  startCommand,
  startWriter,
  stopCommand,
  streamingTo,
  switchPoint,
  writerTableCommands,
} from './drills/postgres.ts'

interface DrillVars {
  to?: string
  client?: string
  maxLagBytes?: number
  reportDir?: string
}

const MIB = 1024 * 1024

await playbook('dr-pg-switchover: switch the PostgreSQL primary over and back, losing nothing', async (pb) => {
  const first = pb.hosts('pg_primary:pg_standby')[0]
  const vars = first?.var<DrillVars>('drill', {}) ?? {}
  const maxLag = vars.maxLagBytes ?? MIB
  await drill(pb, { name: 'pg-switchover', title: 'Planned switchover of the PostgreSQL primary to its standby and back, under a writer; zero rows may be lost.', reportDir: vars.reportDir }, async (d) => {
    const before = await d.step('read the topology from the hosts', async (s) => {
      const t = await observeTopology(pb, 'drill: what each database host is')
      s.note(Object.entries(describeTopology(t)).map(([h, x]) => `${h}: ${x}`).join('; '))
      return t
    })
    d.topology('before', describeTopology(before))
    const { primary, standbys } = primaryAndStandbys(before)
    // The least behind first; a lag that cannot be computed sorts last.
    const lagOf = (h: string) => lagBytes(nodeOf(before, primary)!, nodeOf(before, h)!) ?? Number.POSITIVE_INFINITY
    const target = vars.to ?? [...standbys].sort((a, b) => lagOf(a) - lagOf(b))[0]
    if (!target || !standbys.includes(target))
      throw new DrillAbort(`no standby to switch to: ${vars.to ? `${vars.to} is not` : 'no host is'} a running standby on ${primary}'s timeline (${Object.entries(describeTopology(before)).map(([h, x]) => `${h}: ${x}`).join('; ')}); nothing was done`)
    const P = pb.host(primary)
    const S = pb.host(target)
    const client = pb.host(vars.client ?? target)
    const database = (P.var<{ databases?: string[] }>('pg', {}).databases ?? ['registry'])[0] as string
    const user = P.var<{ harborUser?: string }>('pg', {}).harborUser ?? 'harbor'

    await d.steadyState('before', [
      { name: `${primary} accepts writes`, tolerance: 'not in recovery', probe: async () => ({ ok: (await query(P, 'SELECT pg_is_in_recovery()')) === 'f', observed: describeTopology(before)[primary] ?? '' }) },
      { name: `${target} streams from ${primary}`, tolerance: "pg_stat_replication state 'streaming'", probe: async () => ({ ok: await streamingTo(P, target), observed: describeTopology(before)[target] ?? '' }) },
      {
        name: `${target}'s lag`,
        tolerance: `at most ${maxLag} bytes (drill.maxLagBytes)`,
        probe: async () => {
          const lag = lagBytes(nodeOf(before, primary)!, nodeOf(before, target)!)
          return { ok: lag !== undefined && lag <= maxLag, observed: lag === undefined ? 'unknown' : `${lag} bytes` }
        },
      },
    ])

    const run = `r${Date.now().toString(36)}`
    await d.step(`writer table on ${primary}`, () => act(pb, primary, 'drill: the writer table', `schema berth_drill in ${database}, owned by ${user}`, writerTableCommands(P, database, user)))
    const writer = await d.step(`start the writer on ${client.name}`, async (s) => {
      const addresses = [target, primary].map((h) => pb.host(h).address)
      const w = await startWriter({ client, addresses, port: clusterAt(P).port, database, user, password: P.need('pg_harbor_password', 'the drill writer'), run })
      const first = await waitUntil(() => w.samples(), (x) => x.some((y) => y.ok), { timeoutMs: 15_000 })
      if (!first.ok) throw new DrillAbort(`the writer's first rows were not acknowledged within 15 s: ${first.value?.at(-1)?.detail ?? first.error ?? 'no output'}`)
      s.note(`run ${run}, through ${addresses.join(',')} (target_session_attrs=read-write); first row acknowledged after ${(first.waitedMs / 1000).toFixed(2)} s`)
      return w
    })
    const stopWriter = d.onRollback('stop the writer', async () => void (await writer.stop()))
    // Some rows on the old primary before the first leg.
    await new Promise((r) => setTimeout(r, 1000))

    await switchover(pb, d, writer, P, S, maxLag)
    await switchover(pb, d, writer, S, P, maxLag)

    const samples = await d.step('stop the writer', async (s) => {
      const x = await writer.stop()
      s.note(`${x.filter((y) => y.ok).length} rows acknowledged, ${x.filter((y) => !y.ok).length} attempts failed`)
      return x
    })
    stopWriter()
    const audit = await d.step(`count the writer's rows on ${primary}`, async (s) => {
      const a = await auditRows(P, database, run, samples)
      s.note(`${a.acknowledged} acknowledged, ${a.present} present, ${a.lost.length} lost${a.lost.length ? ` (${a.lost.slice(0, 10).join(', ')}${a.lost.length > 10 ? ', …' : ''})` : ''}, ${a.unacknowledgedButPresent} not acknowledged but committed`)
      return a
    })
    d.measure({ name: 'RPO: acknowledged rows lost', value: audit.lost.length, unit: 'rows', how: `writer log (${audit.acknowledged} acknowledged) against the rows on ${primary} after both legs`, target: { max: 0, binding: true } })

    await d.step('converge the pair as the inventory says', async (s) => {
      await databaseTier(pb, { packages: false })
      s.note(`pg13-primary on ${primary}, pg13-standby on the others`)
    })
    const after = await observeTopology(pb, 'drill: what each database host is now')
    d.topology('after', describeTopology(after))
    await d.steadyState('after', [
      { name: `${primary} is the primary again`, tolerance: 'not in recovery, on a later timeline than before', probe: async () => ({ ok: nodeOf(after, primary)?.role === 'primary' && (nodeOf(after, primary)?.timeline ?? 0) > (nodeOf(before, primary)?.timeline ?? 0), observed: describeTopology(after)[primary] ?? '' }) },
      { name: `${target} streams from ${primary}`, tolerance: "pg_stat_replication state 'streaming'", probe: async () => ({ ok: await streamingTo(P, target), observed: describeTopology(after)[target] ?? '' }) },
      { name: 'no acknowledged row lost', tolerance: '0 rows', probe: async () => ({ ok: audit.lost.length === 0, observed: `${audit.lost.length} of ${audit.acknowledged}` }) },
    ])
    await d.step('drop the writer table', () => act(pb, primary, 'drill: drop the writer table', 'schema berth_drill dropped', [dropWriterTableCommand(P, database)]))
  })
})

/** One leg: from `old` (the primary) to `next` (a streaming standby), then `old` follows `next`. */
async function switchover(pb: Playbook, d: Drill, writer: BackgroundLoad, old: Host, next: Host, maxLag: number): Promise<void> {
  const leg = `${old.name} → ${next.name}`
  await d.step(`${leg}: ${next.name} caught up`, async (s) => {
    const t = await observeTopology(pb, `drill ${leg}: positions`)
    record(d, 'before the switch', t)
    const lag = lagBytes(nodeOf(t, old.name)!, nodeOf(t, next.name)!)
    if (lag === undefined || lag > maxLag) throw new DrillAbort(`${next.name} is ${lag ?? '?'} bytes behind ${old.name}, above ${maxLag} (drill.maxLagBytes); nothing was done`)
    s.note(`${lag} bytes behind`)
  })
  await d.step(`${leg}: CHECKPOINT ${old.name}`, () => act(pb, old.name, `drill ${leg}: checkpoint`, 'CHECKPOINT: the shutdown has less to write', [checkpointCommand(old)]))
  const stoppedAt = Date.now()
  // Until the standby is promoted, the way back is to start the old primary again.
  const restartOld = d.onRollback(`start ${old.name} again (nothing was promoted)`, async () => {
    await old.run(startCommand(old))
    return `${old.name} started as the primary it still is`
  })
  await d.step(`${leg}: stop ${old.name} (fast shutdown)`, () => act(pb, old.name, `drill ${leg}: stop the primary`, 'fast shutdown: sessions end, WAL and the shutdown checkpoint go to the standby', [stopCommand(old)]))
  const shutdown = await d.step(`${leg}: ${old.name}'s shutdown checkpoint`, async (s) => {
    const c = await controlData(old)
    if (c.state !== 'shut down') throw new DrillAbort(`${old.name} is '${c.state}' after the stop, not 'shut down': its last WAL position is not known for sure`)
    s.note(`shut down cleanly, checkpoint ${c.checkpoint} on timeline ${c.timeline}`)
    return c
  })
  await d.step(`${leg}: ${next.name} has received the shutdown checkpoint`, async (s) => {
    const w = await waitUntil(
      async () => query(next, 'SELECT pg_last_wal_receive_lsn()'),
      (lsn) => /\//.test(lsn) && lsnDiff(lsn, shutdown.checkpoint) > 0,
      { timeoutMs: 10_000, intervalMs: 50 },
    )
    if (!w.ok) throw new DrillAbort(`${next.name} received only up to ${w.value ?? '?'} within 10 s, not past ${old.name}'s shutdown checkpoint ${shutdown.checkpoint}: promoting it would lose data`)
    s.note(`received ${w.value} > checkpoint ${shutdown.checkpoint} after ${(w.waitedMs / 1000).toFixed(2)} s`)
  })
  await d.step(`${leg}: promote ${next.name}`, async (s) => {
    await act(pb, next.name, `drill ${leg}: promote`, `pg_promote on ${next.name}, then a checkpoint and a slot for ${old.name}`, [
      promoteCommand(next),
      checkpointCommand(next),
      psql(clusterAt(next), 'postgres', `SELECT pg_create_physical_replication_slot(${sqlLiteral(slotNameFor(old.name))}) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ${sqlLiteral(slotNameFor(old.name))})`),
    ])
    restartOld()
    s.note(`${next.name}: ${await query(next, "SELECT CASE WHEN pg_is_in_recovery() THEN 'still in recovery' ELSE 'in production' END")}`)
  })
  await d.step(`${leg}: writes acknowledged again`, async (s) => {
    const w = await waitUntil(() => writer.samples(), (x) => x.some((y) => y.ok && y.atMs > stoppedAt && y.detail.trim() !== ''), { timeoutMs: 30_000, intervalMs: 50 })
    if (!w.ok) throw new Error(`no write acknowledged within 30 s of stopping ${old.name}`)
    const outage = outageAfter(w.value ?? [], stoppedAt)
    if (outage?.firstOkAfter !== undefined && outage.lastOkBefore !== undefined) {
      d.measure({ name: `write downtime ${leg}`, value: outage.firstOkAfter - outage.lastOkBefore, unit: 'ms', how: `writer log: last acknowledged row before the stop to the first after it (${outage.failures} attempts failed)`, target: { max: 2000, binding: false } })
      s.note(`${outage.failures} attempts failed`)
    } else s.note('no write failed')
  })
  await d.step(`${leg}: ${old.name} follows ${next.name} without a rewind`, async (s) => {
    const tl = (await controlData(next)).timeline
    const sp = await switchPoint(next, tl)
    const beyond = lsnDiff(shutdown.checkpoint, sp.at)
    d.measure({ name: `WAL of ${old.name} beyond the switch point (${leg})`, value: Math.max(0, beyond), unit: 'bytes', how: `${old.name}'s shutdown checkpoint ${shutdown.checkpoint} against timeline ${tl}'s switch point ${sp.at} (${next.name}'s history file)`, target: { max: 0, binding: true } })
    if (sp.from !== shutdown.timeline || beyond >= 0)
      throw new DrillAbort(`${old.name}'s WAL (checkpoint ${shutdown.checkpoint}, timeline ${shutdown.timeline}) does not end before ${next.name}'s switch point ${sp.at} from timeline ${sp.from}: it needs pg_rewind or a new base backup; it is left stopped`)
    const c = clusterAt(old)
    await act(pb, old.name, `drill ${leg}: make ${old.name} a standby`, `standby.signal in ${c.dataDir}`, [sh`runuser -u postgres -- touch ${c.dataDir}/standby.signal`])
    const opts = databaseRoleOptions(pb, next.name).standby(old)
    const r = await pb.play(`drill ${leg}: ${old.name} as a standby of ${next.name}`, old.name, () => pg13Standby(opts))
    if (!r.ok) throw new Error(`pg13-standby on ${old.name} failed`)
    const w = await waitUntil(() => streamingTo(next, old.name), (x) => x, { timeoutMs: 30_000, intervalMs: 100 })
    if (!w.ok) throw new Error(`${old.name} does not stream from ${next.name} within 30 s`)
    // The old primary still holds the slot its standby used: on a standby it would only keep WAL forever.
    const stale = slotNameFor(next.name)
    await act(pb, old.name, `drill ${leg}: drop ${old.name}'s stale slot`, `slot ${stale} (used by ${next.name} while it was a standby)`, [
      psql(clusterAt(old), 'postgres', `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${sqlLiteral(stale)} AND NOT active`),
    ])
    s.note(`checkpoint ${shutdown.checkpoint} < switch point ${sp.at}; streaming after ${(w.waitedMs / 1000).toFixed(2)} s`)
  })
}
