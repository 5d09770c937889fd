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
import { playbook } from '../src/index.ts'
import { drill, DrillAbort } from '../src/drill/drill.ts'
import { databaseTier, observeTopology } from './tiers/database.ts'
import { act, auditRows, describeTopology, drillVars, dropWriterTableCommand, lagBound, lagBytes, nodeOf, primaryAndStandbys, query, showTopology, streamingTo, topologyBefore, writerDatabase, writerSteps } from './drills/postgres.ts'
import { switchover } from './drills/switchover-leg.ts'

interface DrillVars {
  to?: string
  client?: string
  maxLagBytes?: number
  reportDir?: string
}

await playbook('dr-pg-switchover: switch the PostgreSQL primary over and back, losing nothing', async (pb) => {
  const vars = drillVars<DrillVars>(pb)
  const maxLag = lagBound(vars.maxLagBytes)
  await drill(pb, { name: 'pg-switchover', title: 'Planned switchover of the PostgreSQL primary to its standby and back, under a writer; zero rows may be lost.', reportDir: vars.reportDir }, async (d) => {
    const before = await topologyBefore(pb, d)
    const { primary, standbys } = primaryAndStandbys(before)
    // The least behind first; a lag that cannot be computed sorts last.
    const lagOf = (h: string) => lagBytes(nodeOf(before, primary)!, nodeOf(before, h)!) ?? Number.POSITIVE_INFINITY
    const target = vars.to ?? [...standbys].sort((a, b) => lagOf(a) - lagOf(b))[0]
    if (!target || !standbys.includes(target))
      throw new DrillAbort(`no standby to switch to: ${vars.to ? `${vars.to} is not` : 'no host is'} a running standby on ${primary}'s timeline (${showTopology(before)}); nothing was done`)
    const P = pb.host(primary)
    const S = pb.host(target)
    const client = pb.host(vars.client ?? target)
    const { database } = writerDatabase(P)

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

    const { writer, run, cancelStop: cancelStopWriter } = await writerSteps(pb, d, { primary: P, client, addresses: [target, primary].map((h) => pb.host(h).address) })
    // Some rows on the old primary before the first leg.
    await new Promise((r) => setTimeout(r, 1000))

    await switchover(pb, d, writer, P, S, maxLag)
    await switchover(pb, d, writer, S, P, maxLag)

    const samples = await d.step('stop the writer', async (s) => {
      const x = await writer.stop()
      s.note(`${x.filter((y) => y.ok).length} rows acknowledged, ${x.filter((y) => !y.ok).length} attempts failed`)
      return x
    })
    cancelStopWriter()
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
