#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Drill: the PostgreSQL primary dies (seed 001's case: "when the primary
// fails"), done the way Patroni and repmgr do it rather than the seed's
// `rm -rf` and hope. Under a writer that logs every acknowledged row:
//
//   1. cut the primary's power (berth_power_off: a fence agent; in the lab, a
//      power cut): every process dies at once, nothing is flushed;
//   2. detect it with a bounded probe from the standby (pg_isready);
//   3. fence it: its power is off, and the start guard the roles install keeps
//      it from starting as a primary when it comes back (it writes the fence
//      record then, so the fence survives every later boot);
//   4. choose the standby that received the most WAL (the primary's timeline and
//      system only), refusing one further behind than drill.maxLagBytes;
//   5. pg_promote it; writes are acknowledged again (RTO from the writer's log);
//   6. repoint every Harbor node played (harbor.yml, prepare, core restarted);
//   7. power the old primary on and see the guard refuse to start it; rejoin it
//      as a standby of the new primary with a base backup into a sibling
//      directory: its own data directory is kept beside, renamed, never deleted
//      (it holds what the failover lost, for whoever wants to look);
//   8. count the rows: acknowledged and missing is RPO (asynchronous
//      replication may lose a few; reported, not hidden);
//   9. unless -e drill.switchBack=false, switch back over to the inventory's
//      primary (a planned switchover, losing nothing) and converge the pair as
//      the inventory says.
//
//   ./playbooks/dr-pg-failover.ts -i inventory/lab.yml
//   ... -e drill.to=db2             the standby to promote (default: the one that received the most)
//   ... -e drill.maxLagBytes=N      promote only a standby at most N bytes behind the primary's last position seen (default 1 MiB, Patroni's maximum_lag_on_failover)
//   ... -e drill.client=HOST        where the writer runs (default: the standby to promote; never the primary)
//   ... -e drill.switchBack=false   leave the new primary in place (then make the inventory agree: the report says how)
//   ... -e drill.harborClient=HOST -e drill.image=REF   HOST's Docker pulls REF and pushes new tags of it through Harbor
//                                   all along (trusting the registry, logged in): the report gives the longest
//                                   interruption of each
//   npm run drill -- pg-failover    on the lab, from a fresh converge
import { playbook, sh, type Host, type Playbook } from '../src/index.ts'
import { drill, DrillAbort, type Drill } from '../src/drill/drill.ts'
import { outageAfter } from '../src/drill/load.ts'
import { power, powerCommand } from '../src/drill/power.ts'
import { waitUntil } from '../src/wait-until.ts'
import { binDir, slotNameFor, unitName } from '../roles/postgres/layout.ts'
import { psql, sqlLiteral } from '../roles/postgres/psql.ts'
import { FENCE_FILE, lsnDiff } from '../roles/postgres/topology.ts'
import { pg13Standby } from '../roles/pg13-standby/index.ts'
import { clusterAt, databasePrimary, databaseRoleOptions, databaseTier, observeTopology } from './tiers/database.ts'
import { harborTier } from './tiers/harbor.ts'
import { redisEndpoints } from './tiers/redis.ts'
import { act, auditRows, checkpointCommand, chooseCandidate, describeTopology, drillVars, dropWriterTableCommand, lagBound, lagBytes, nodeOf, primaryAndStandbys, promoteCommand, query, rowTimeline, showTopology, streamingTo, switchPoint, topologyBefore, unfenceCommand, writerSteps } from './drills/postgres.ts'
import { switchover } from './drills/switchover-leg.ts'
import { longestGap, startHarborLoad, type HarborLoad } from './drills/harbor-load.ts'

interface DrillVars {
  to?: string
  client?: string
  maxLagBytes?: number
  switchBack?: boolean
  harborClient?: string
  image?: string
  reportDir?: string
}

await playbook('dr-pg-failover: the PostgreSQL primary dies; fence it, promote the standby, rejoin the old primary', async (pb) => {
  const vars = drillVars<DrillVars>(pb)
  const maxLag = lagBound(vars.maxLagBytes)
  await drill(pb, { name: 'pg-failover', title: 'Failover of the PostgreSQL primary after a power cut, under a writer: fence, promote the standby, repoint Harbor, rejoin the old primary without deleting its data.', reportDir: vars.reportDir }, async (d) => {
    const before = await topologyBefore(pb, d)
    const { primary, standbys } = primaryAndStandbys(before)
    if (standbys.length === 0 || (vars.to && !standbys.includes(vars.to)))
      throw new DrillAbort(`no standby to fail over to: ${vars.to ? `${vars.to} is not` : 'no host is'} a running standby on ${primary}'s timeline (${showTopology(before)}); nothing was done`)
    const P = pb.host(primary)
    const oldTimeline = nodeOf(before, primary)?.timeline ?? 0
    const clientName = vars.client ?? vars.to ?? (standbys[0] as string)
    if (clientName === primary) throw new DrillAbort(`drill.client is ${primary}, the host whose power the drill cuts: the writer must run elsewhere; nothing was done`)
    const client = pb.host(clientName)
    const port = clusterAt(P).port

    await d.steadyState('before', [
      { name: `${primary} accepts writes`, tolerance: 'not in recovery', probe: async () => ({ ok: (await query(P, 'SELECT pg_is_in_recovery()')) === 'f', observed: describeTopology(before)[primary] ?? '' }) },
      ...standbys.map((sb) => ({ name: `${sb} streams from ${primary}`, tolerance: "pg_stat_replication state 'streaming'", probe: async () => ({ ok: await streamingTo(P, sb), observed: describeTopology(before)[sb] ?? '' }) })),
      {
        name: `${primary}'s power can be cut and restored`,
        tolerance: 'berth_power_off and berth_power_on set',
        probe: async () => ({ ok: powerCommand(P, 'off') !== undefined && powerCommand(P, 'on') !== undefined, observed: `berth_power_off ${powerCommand(P, 'off') ? 'set' : 'not set'}, berth_power_on ${powerCommand(P, 'on') ? 'set' : 'not set'}` }),
      },
    ])

    // The standbys first: after the promotion libpq finds the writable one at once, not after the dead primary's connect timeout.
    const { writer, run, database, cancelStop: cancelStopWriter } = await writerSteps(pb, d, { primary: P, client, addresses: [...standbys.map((h) => pb.host(h).address), P.address] })
    // Harbor's own clients, when asked: pulls and pushes through one node, logged the same way.
    const harbor = await harborLoadSteps(pb, d, vars)
    await new Promise((r) => setTimeout(r, 1000))

    // ---- the fault ----
    const lastSeen = await query(P, 'SELECT pg_current_wal_lsn()')
    await d.fault(`cut ${primary}'s power`, async (s) => {
      pb.expectFault(primary, 'the drill cut its power')
      const p = await power(pb, P, 'off')
      s.note(`berth_power_off returned after ${Math.round(p.ms)} ms; ${primary}'s last WAL position seen: ${lastSeen}`)
      return p
    })
    const faultEpoch = Date.now()
    // Until the old primary is back, the way out of a drill that stops is to power it on (the start guard decides what it becomes).
    const cancelPowerBack = d.onRollback(`power ${primary} on again`, async () => {
      await power(pb, P, 'on')
      await pb.reconnect(primary, { timeoutMs: 60_000 })
      return `${primary} is up; ${(await P.run(sh`systemctl is-active -- ${unitName(clusterAt(P))}`).quiet().nothrow()).stdout.trim()}`
    })

    const candidates = standbys.map((h) => pb.host(h))
    const detectedEpoch = await d.step(`detect: ${primary} does not answer`, async (s) => {
      const probeFrom = candidates[0] as Host
      const w = await waitUntil(
        // libpq's connect timeout is 2 s at least; a primary that does not answer within 0.5 s on its own network counts as down.
        async () => (await probeFrom.run(sh`timeout 0.5 ${binDir(clusterAt(probeFrom).version)}/pg_isready -q -t 2 -h ${P.address} -p ${port}`).quiet().nothrow()).code,
        (code) => code !== 0,
        { timeoutMs: 10_000, intervalMs: 100 },
      )
      if (!w.ok) throw new DrillAbort(`${primary} still answers ${w.attempts} probes over 10 s after its power was cut: the cut did not take (berth_power_off); nothing was promoted`)
      s.note(`pg_isready from ${probeFrom.name}: no answer within 0.5 s (exit ${w.value}) after ${(w.waitedMs / 1000).toFixed(2)} s`)
      return Date.now()
    })
    d.measure({ name: 'detection: fault to no answer', value: detectedEpoch - faultEpoch, unit: 'ms', how: `pg_isready from ${candidates[0]?.name} every 100 ms, 0.5 s each at most` })
    d.fenced({ host: primary, how: 'power off (berth_power_off)', evidence: `pg_isready from ${candidates[0]?.name}: no answer` })

    const chosen = await d.step('choose the standby to promote (most WAL received, on the primary\'s timeline)', async (s) => {
      const seen = await Promise.all(
        // What each WAL receiver wrote to disk: what promotion replays.
        candidates.map(async (h) => ({ host: h.name, lsn: await query(h, 'SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())').catch(() => '') })),
      )
      s.note(seen.map((x) => `${x.host} received ${x.lsn || '?'}`).join('; ') + `; ${primary}'s last position seen ${lastSeen}`)
      const pick = chooseCandidate(lastSeen, seen, { to: vars.to, maxLagBytes: maxLag })
      return { ...pick, host: pb.host(pick.host) }
    })
    const S = chosen.host
    // A lower bound: the primary may have written more between that reading and the cut. The bound itself was enforced by the choice.
    d.measure({ name: `${S.name}'s lag behind ${primary}'s last position seen (at least)`, value: chosen.lag, unit: 'bytes', how: `pg_current_wal_lsn on ${primary} just before the cut (${lastSeen}) against ${S.name}'s pg_last_wal_receive_lsn after it (${chosen.lsn}); drill.maxLagBytes ${maxLag}` })

    await d.step(`promote ${S.name}`, async (s) => {
      await act(pb, S.name, `drill: promote ${S.name}`, `pg_promote on ${S.name}, a checkpoint (the new timeline in its control file), a slot for ${primary}`, [
        promoteCommand(S),
        checkpointCommand(S),
        psql(clusterAt(S), 'postgres', `SELECT pg_create_physical_replication_slot(${sqlLiteral(slotNameFor(primary))}) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ${sqlLiteral(slotNameFor(primary))})`),
      ])
      s.note(`${S.name}: ${await query(S, "SELECT CASE WHEN pg_is_in_recovery() THEN 'still in recovery' ELSE 'in production, timeline ' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END")}`)
    })
    await d.step('writes acknowledged again', async (s) => {
      // A row on the new timeline: one the old primary acknowledged just before the cut landed does not count.
      const onNew = (y: { ok: boolean; atMs: number; detail: string }) => y.ok && y.atMs > faultEpoch && rowTimeline(y.detail) > oldTimeline
      const w = await waitUntil(() => writer.samples(), (x) => x.some(onNew), { timeoutMs: 30_000, intervalMs: 50 })
      if (!w.ok) throw new Error(`no write acknowledged within 30 s of ${S.name}'s promotion`)
      const samples = w.value ?? []
      const firstOk = Math.min(...samples.filter(onNew).map((y) => y.atMs))
      const outage = outageAfter(samples, faultEpoch - 5_000)
      d.measure({ name: 'RTO: fault to the first acknowledged write', value: firstOk - faultEpoch, unit: 'ms', how: `writer log: the power cut returned to the first row ${S.name} acknowledged` })
      d.measure({ name: 'failover: detected to writes accepted', value: firstOk - detectedEpoch, unit: 'ms', how: 'writer log: detection to the first acknowledged row', target: { max: 2000, binding: false } })
      if (outage?.lastOkBefore !== undefined) d.measure({ name: 'write downtime', value: firstOk - outage.lastOkBefore, unit: 'ms', how: `writer log: the last row acknowledged before the cut to the first after it (${outage.failures} attempts failed)` })
    })

    await repointHarbor(pb, d, S)

    // ---- the old primary comes back ----
    await d.step(`power ${primary} on: the start guard keeps it from starting as a primary`, async (s) => {
      const p = await power(pb, P, 'on')
      const r = await pb.reconnect(primary, { timeoutMs: 60_000 })
      cancelPowerBack()
      const unit = unitName(clusterAt(P))
      // At boot systemd runs the guard; wait until it has decided (the unit leaves 'activating').
      const settled = await waitUntil(async () => (await P.run(sh`systemctl is-active -- ${unit}`).quiet().nothrow()).stdout.trim(), (x) => x !== 'activating', { timeoutMs: 30_000, intervalMs: 200 })
      const state = settled.value ?? '?'
      const writable = state === 'active' && (await query(P, 'SELECT pg_is_in_recovery()').catch(() => '')) === 'f'
      if (writable) {
        d.fail(`split brain: ${primary} came back writable beside ${S.name}`)
        await P.run(sh`systemctl stop -- ${unit}`).nothrow()
        throw new Error(`${primary} started as a second primary after its power came back; it was stopped again`)
      }
      const fence = (await P.run(sh`cat ${FENCE_FILE}`).quiet().nothrow()).stdout.trim()
      if (!fence) d.fail(`${primary} came back and no fence record was written (${FENCE_FILE}): the next boot has no guard if ${S.name} does not answer then`)
      d.fenced({ host: primary, how: `start guard at boot (${FENCE_FILE})`, evidence: fence || `unit ${state}, no fence record` })
      s.note(`berth_power_on returned after ${Math.round(p.ms)} ms; reachable after ${(r.waitedMs / 1000).toFixed(1)} s more; ${unit} ${state}; ${fence}`)
    })

    const wal = await d.step(`${primary}'s WAL beyond the switch point`, async (s) => {
      const sp = await switchPoint(S, Number.parseInt((await query(S, 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')), 16))
      const beyond = Math.max(0, lsnDiff(lastSeen, sp.at))
      s.note(`${primary}'s last position seen ${lastSeen}, ${S.name}'s switch point ${sp.at} (timeline ${sp.from} → next)`)
      return { beyond, at: sp.at }
    })
    d.measure({ name: `RPO: WAL of ${primary} past the switch point (at least)`, value: wal.beyond, unit: 'bytes', how: `${primary}'s pg_current_wal_lsn just before the cut (${lastSeen}) against the switch point ${wal.at}; it may have written more before the cut landed` })

    await d.step(`rejoin ${primary} as a standby of ${S.name} (base backup into a sibling directory; its own kept beside)`, async (s) => {
      const opts = { ...databaseRoleOptions(pb, S.name).standby(P), replaceDataDir: true }
      const r = await pb.play(`drill: ${primary} as a standby of ${S.name}`, primary, () => pg13Standby(opts))
      if (!r.ok) throw new Error(`pg13-standby on ${primary} failed`)
      const w = await waitUntil(() => streamingTo(S, primary), (x) => x, { timeoutMs: 30_000, intervalMs: 100 })
      if (!w.ok) throw new Error(`${primary} does not stream from ${S.name} within 30 s`)
      // A standby that follows the new primary: the fence has done its work; left in place it would refuse a later promotion back.
      await act(pb, primary, `drill: lift ${primary}'s fence`, `${primary} streams from ${S.name}: remove ${FENCE_FILE}`, [unfenceCommand()])
      const kept = (await P.run(sh`ls -1d -- ${clusterAt(P).dataDir}.replaced-* 2>/dev/null | tail -1`).quiet().nothrow()).stdout.trim()
      s.note(`streaming after ${(w.waitedMs / 1000).toFixed(2)} s; its old data directory kept as ${kept || '?'}`)
      d.measure({ name: 'failover and rejoin: fault to the old primary streaming again', value: Date.now() - faultEpoch, unit: 'ms', how: 'controller clock', target: { max: 30_000, binding: false } })
    })

    const failoverAudit = await d.step(`count the writer's rows on ${S.name}`, async (s) => {
      const a = await auditRows(S, database, run, await writer.samples())
      s.note(`${a.acknowledged} acknowledged so far, ${a.lost.length} lost${a.lost.length ? ` (${a.lost.slice(0, 10).join(', ')}${a.lost.length > 10 ? ', …' : ''})` : ''}, ${a.unacknowledgedButPresent} not acknowledged but committed`)
      return a
    })
    d.measure({ name: 'RPO: acknowledged rows lost in the failover', value: failoverAudit.lost.length, unit: 'rows', how: `writer log (${failoverAudit.acknowledged} acknowledged) against the rows on ${S.name}; asynchronous replication: the rows the standby had not received when the power went` })

    const home = databasePrimary(pb).name
    const switchBack = vars.switchBack !== false && home === primary
    if (switchBack) await switchover(pb, d, writer, S, P, maxLag)
    const finalPrimary = switchBack ? P : S

    const samples = await d.step('stop the writer', async (s) => {
      const x = await writer.stop()
      s.note(`${x.filter((y) => y.ok).length} rows acknowledged, ${x.filter((y) => !y.ok).length} attempts failed`)
      return x
    })
    cancelStopWriter()
    const audit = await d.step(`count the writer's rows on ${finalPrimary.name}`, async (s) => {
      const a = await auditRows(finalPrimary, database, run, samples)
      s.note(`${a.acknowledged} acknowledged, ${a.present} present, ${a.lost.length} lost`)
      return a
    })
    const lostLater = audit.lost.filter((n) => !failoverAudit.lost.includes(n))
    d.measure({ name: 'acknowledged rows lost after the failover (rejoin, switchback)', value: lostLater.length, unit: 'rows', how: `writer log against the rows on ${finalPrimary.name}, less those the failover lost`, target: { max: 0, binding: true } })

    if (switchBack) {
      await d.step('converge the pair as the inventory says', async (s) => {
        await databaseTier(pb, { packages: false })
        s.note(`pg13-primary on ${primary}, pg13-standby on the others`)
      })
      await repointHarbor(pb, d, P)
    } else if (home !== S.name) d.mark(`the inventory says ${home} is the primary; ${S.name} is: put ${S.name} in group pg_primary and ${primary} in pg_standby, or run the playbooks with -e pg_primary=${S.name}`)
    // After the last repoint: the interruptions it caused count too.
    if (harbor) await harborLoadMeasures(d, harbor, faultEpoch)
    const after = await observeTopology(pb, 'drill: what each database host is now')
    d.topology('after', describeTopology(after))
    await d.steadyState('after', [
      { name: `${finalPrimary.name} is the only primary`, tolerance: 'one host not in recovery', probe: async () => ({ ok: [...after.values()].filter((n) => !('unreachable' in n) && n.role === 'primary').length === 1 && nodeOf(after, finalPrimary.name)?.role === 'primary', observed: describeTopology(after)[finalPrimary.name] ?? '' }) },
      ...[P, S]
        .filter((h) => h !== finalPrimary)
        .map((h) => ({ name: `${h.name} streams from ${finalPrimary.name}`, tolerance: "pg_stat_replication state 'streaming', lag ≤ drill.maxLagBytes", probe: async () => ({ ok: (await streamingTo(finalPrimary, h.name)) && (lagBytes(nodeOf(after, finalPrimary.name)!, nodeOf(after, h.name)!) ?? Infinity) <= maxLag, observed: describeTopology(after)[h.name] ?? '' }) })),
    ])
    await d.step('drop the writer table', () => act(pb, finalPrimary.name, 'drill: drop the writer table', 'schema berth_drill dropped', [dropWriterTableCommand(finalPrimary, database)]))
  })
})

/** Every Harbor node the run plays, pointed at `primary` (the Harbor tier: harbor.yml, prepare, core restarted). */
async function repointHarbor(pb: Playbook, d: Drill, primary: Host): Promise<void> {
  await d.step(`point the Harbor nodes at ${primary.name}`, async (s) => {
    const nodes = pb.hosts('harbor').map((h) => h.name)
    if (nodes.length === 0) return s.note('no Harbor node in this run (none in the inventory, or left out by --limit)')
    await harborTier(pb, { database: { name: primary.name, address: primary.address }, redis: redisEndpoints(pb) }).play()
    s.note(`${nodes.join(', ')}: harbor.yml names ${primary.address}`)
  })
}

/** The Harbor client loads, started when drill.harborClient and drill.image are both given; their rollback stops them. */
async function harborLoadSteps(pb: Playbook, d: Drill, vars: DrillVars): Promise<(HarborLoad & { cancelStop: () => void }) | undefined> {
  if (!vars.harborClient && !vars.image) return undefined
  if (!vars.harborClient || !vars.image) throw new DrillAbort('drill.harborClient and drill.image go together: the host whose Docker pulls and pushes, and the image it uses; nothing was done')
  const client = pb.host(vars.harborClient)
  const image = vars.image
  const load = await d.step(`Harbor's clients: ${client.name} pulls and pushes ${image}`, async (s) => {
    const l = await startHarborLoad(client, image)
    const w = await waitUntil(async () => [await l.pulls.samples(), await l.pushes.samples()] as const, ([a, b]) => a.some((x) => x.ok) && b.some((x) => x.ok), { timeoutMs: 60_000, intervalMs: 250 })
    if (!w.ok) {
      await Promise.all([l.pulls.stop(), l.pushes.stop()])
      throw new DrillAbort(`${client.name} could not pull and push ${image} within 60 s before the fault: ${[...(w.value?.[0] ?? []), ...(w.value?.[1] ?? [])].filter((x) => !x.ok).at(-1)?.detail ?? w.error ?? 'no output'}`)
    }
    s.note('a pull and a push went through before the fault')
    return l
  })
  const cancelStop = d.onRollback("stop Harbor's clients", async () => void (await Promise.all([load.pulls.stop(), load.pushes.stop()])))
  return { ...load, cancelStop }
}

async function harborLoadMeasures(d: Drill, load: HarborLoad & { cancelStop: () => void }, faultEpoch: number): Promise<void> {
  const [pulls, pushes] = await d.step("stop Harbor's clients", async (s) => {
    const r = await Promise.all([load.pulls.stop(), load.pushes.stop()])
    s.note(`${r[0].filter((x) => x.ok).length} pulls and ${r[1].filter((x) => x.ok).length} pushes went through, ${r[0].filter((x) => !x.ok).length} and ${r[1].filter((x) => !x.ok).length} failed`)
    return r
  })
  load.cancelStop()
  for (const [what, samples] of [['pulls', pulls], ['pushes', pushes]] as const) {
    const g = longestGap(samples, faultEpoch)
    d.measure({ name: `Harbor ${what}: longest interruption`, value: g.gapMs, unit: 'ms', how: `the ${what}' log: the longest time without one going through, from the fault to the end (${g.failed} failed${g.to === undefined && g.failed ? ', still failing at the end' : ''}); it includes Harbor's own restarts when it is repointed` })
    const last = [...samples].sort((a, b) => a.atMs - b.atMs).at(-1)
    if (!last?.ok) d.fail(`Harbor ${what} still fail at the end of the drill: ${last?.detail.slice(0, 160) ?? 'no attempt'}`)
  }
}
