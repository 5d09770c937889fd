// One leg of a planned switchover, shared by the switchover drill and the
// failover drill's switchback: from `old` (the primary) to `next` (a streaming
// standby), losing nothing, then `old` follows `next` without a rebuild. Each
// step checks before it acts (lag, clean shutdown, WAL received past the
// shutdown checkpoint, the switch point) and aborts rather than guesses.
import { sh, type Host, type Playbook } from '../../src/index.ts'
import { DrillAbort, type Drill } from '../../src/drill/drill.ts'
import { outageAfter, type BackgroundLoad } from '../../src/drill/load.ts'
import { waitUntil } from '../../src/wait-until.ts'
import { slotNameFor } from '../../roles/postgres/layout.ts'
import { psql, sqlLiteral } from '../../roles/postgres/psql.ts'
import { lsnDiff } from '../../roles/postgres/topology.ts'
import { pg13Standby } from '../../roles/pg13-standby/index.ts'
import { clusterAt, databaseRoleOptions, observeTopology } from '../tiers/database.ts'
import { act, checkpointCommand, controlData, fenceCommand, lagBytes, nodeOf, promoteCommand, query, record, rowTimeline, startCommand, stopCommand, streamingTo, switchPoint, unfenceCommand } from './postgres.ts'

/** One leg: from `old` (the primary) to `next` (a streaming standby), then `old` follows `next`. */
export async function switchover(pb: Playbook, d: Drill, writer: BackgroundLoad, old: Host, next: Host, maxLag: number): Promise<void> {
  const leg = `${old.name} → ${next.name}`
  const oldTimeline = await d.step(`${leg}: ${next.name} caught up`, async (s) => {
    const t = await observeTopology(pb, `drill ${leg}: positions`)
    record(d, 'before the switch', t)
    const lag = lagBytes(nodeOf(t, old.name)!, nodeOf(t, next.name)!)
    if (lag === undefined || lag > maxLag) throw new DrillAbort(`${next.name} is ${lag ?? '?'} bytes behind ${old.name}, above ${maxLag} (drill.maxLagBytes); nothing was done`)
    s.note(`${lag} bytes behind`)
    return nodeOf(t, old.name)?.timeline ?? 0
  })
  await d.step(`${leg}: CHECKPOINT ${old.name}`, () => act(pb, old.name, `drill ${leg}: checkpoint`, 'CHECKPOINT: the shutdown has less to write', [checkpointCommand(old)]))
  const stoppedAt = Date.now()
  // Until the standby is promoted, the way back is to start the old primary again.
  const cancelRestartOld = d.onRollback(`start ${old.name} again (nothing was promoted)`, async () => {
    await old.run(unfenceCommand())
    await old.run(startCommand(old))
    return `${old.name} unfenced and started as the primary it still is`
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
    // Fenced first: should the leg stop after the promotion, the old primary never starts as a second one (its start guard reads this).
    await act(pb, old.name, `drill ${leg}: fence ${old.name}`, `fence record on ${old.name}: ${next.name} is being promoted`, [fenceCommand(`${new Date().toISOString()} by drill ${d.spec.name}: ${next.name} promoted in its place (switchover)`)])
    await act(pb, next.name, `drill ${leg}: promote`, `pg_promote on ${next.name}, then a checkpoint and a slot for ${old.name}`, [
      promoteCommand(next),
      checkpointCommand(next),
      psql(clusterAt(next), 'postgres', `SELECT pg_create_physical_replication_slot(${sqlLiteral(slotNameFor(old.name))}) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ${sqlLiteral(slotNameFor(old.name))})`),
    ])
    cancelRestartOld()
    s.note(`${next.name}: ${await query(next, "SELECT CASE WHEN pg_is_in_recovery() THEN 'still in recovery' ELSE 'in production' END")}`)
  })
  await d.step(`${leg}: writes acknowledged again`, async (s) => {
    // A row on the new timeline: rows the old primary acknowledged after stoppedAt do not count.
    const w = await waitUntil(() => writer.samples(), (x) => x.some((y) => y.ok && y.atMs > stoppedAt && rowTimeline(y.detail) > oldTimeline), { timeoutMs: 30_000, intervalMs: 50 })
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
    await act(pb, old.name, `drill ${leg}: lift ${old.name}'s fence`, `${old.name} streams from ${next.name}`, [unfenceCommand()])
    // The old primary still holds the slot its standby used: on a standby it would only keep WAL forever.
    const stale = slotNameFor(next.name)
    await act(pb, old.name, `drill ${leg}: drop ${old.name}'s stale slot`, `slot ${stale} (used by ${next.name} while it was a standby)`, [
      psql(clusterAt(old), 'postgres', `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${sqlLiteral(stale)} AND NOT active`),
    ])
    s.note(`checkpoint ${shutdown.checkpoint} < switch point ${sp.at}; streaming after ${(w.waitedMs / 1000).toFixed(2)} s`)
  })
}
