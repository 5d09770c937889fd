// The PostgreSQL drills on the lab: playbooks/dr-pg-switchover.ts run as an
// operator runs it (a child process, --json) on a pair converged by
// playbooks/ha-pg-replicated.ts on fresh db1 and db2, real PostgreSQL 15; and
// what a stale inventory does after a failover made by hand. Needs root on Linux.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import type { DrillReport } from '../../src/drill/report.ts'
import { reveal, type Secret } from '../../src/secrets.ts'
import { LabHosts } from '../support/lab-hosts.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { changedTasks, describeRun, errorOf, runLabPlaybook, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CONVERGE = join(ROOT, 'playbooks', 'ha-pg-replicated.ts')
const SWITCHOVER = join(ROOT, 'playbooks', 'dr-pg-switchover.ts')
const FAILOVER = join(ROOT, 'playbooks', 'dr-pg-failover.ts')
const RESTORE = join(ROOT, 'playbooks', 'dr-pg-restore.ts')
const RESTORE_DIR = '/var/lib/berth/drill-restore'
const PSQL = '/usr/lib/postgresql/15/bin/psql'

const NAMES = [
  'dr-pg-switchover: over and back under a writer, exit 0 (passed), 0 acknowledged rows lost; the Markdown and JSON reports give both legs, their write downtime, the timelines before and after; the pair is as the inventory says afterwards',
  "dr-pg-failover: db1's power cut under a writer; db2 promoted, writes acknowledged again; db1 powered on is kept from starting as a primary by the start guard (fenced at boot), rejoined from a base backup with its own data directory kept beside, then switched back; exit 0, RPO reported in rows",
  "dr-pg-restore: a base backup of db1 and its WAL archive restored onto db2 (a second cluster, port 5433) to a time midway through the writer's run: every row acknowledged before it is there, none after; the restored cluster archived nothing, db1's archive is as it was; the drill's cluster and files are gone afterwards",
  'dr-pg-restore aborts (exit 7) before touching anything when its work directory already exists on the restore host: that directory is left as it was',
  'dr-pg-switchover aborts (exit 7) before the fault when the standby does not stream: the primary is untouched',
  'after a failover made by hand the inventory is stale: converging refuses to start the old primary as a second one (exit 1), naming the promoted host and -e pg_primary; nothing changes',
]

const messages = (r: LabRun): string[] => r.events.flatMap((e) => (e.kind === 'message' ? [e.message] : []))

if (!skippedWithoutLab('PostgreSQL drill', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let reports: string
  let hosts: LabHosts | undefined
  const converge = (...args: string[]) => runLabPlaybook(CONVERGE, '--limit', 'postgres', ...args)
  const switchover = (...args: string[]) => runLabPlaybook(SWITCHOVER, '-e', `drill.reportDir=${reports}`, ...args)
  const restore = (...args: string[]) => runLabPlaybook(RESTORE, '--limit', 'postgres', '-e', `drill.reportDir=${reports}`, ...args)
  const failover = (...args: string[]) => runLabPlaybook(FAILOVER, '--limit', 'postgres', '-e', `drill.reportDir=${reports}`, ...args)
  const host = (name: string) => (hosts as LabHosts).host(name)
  const query = async (name: string, sql: string): Promise<string> => (await host(name).$`cd / && runuser -u postgres -- ${PSQL} -XAtq -c ${sql}`).stdout.trim()

  test.before(() =>
    setUpReported(async () => {
      reports = mkdtempSync(join(tmpdir(), 'berth-drill-reports-'))
      hosts = await LabHosts.load()
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/pg-drills.test.ts')
      await lab.down()
      await lab.up(['db1', 'db2'])
      hosts.connect('db1', 'db2')
      const r = await converge()
      if (r.code !== 0) throw new Error(`the pair did not converge: ${describeRun(r)}`)
    }),
  )

  test.after(() =>
    tearDownLab(lab, hosts ? hosts.connections : [], () => {
      if (reports) rmSync(reports, { recursive: true, force: true })
    }),
  )

  test(NAMES[0] as string, async () => {
    const r = await switchover()
    assert.is(r.code, 0, `${describeRun(r)}\n${messages(r).join('\n')}`)
    const files = readdirSync(reports)
    const json = files.find((f) => /^pg-switchover-\d{8}-\d{6}\.json$/.test(f))
    const md = files.find((f) => /^pg-switchover-\d{8}-\d{6}\.md$/.test(f))
    assert.ok(json && md, files.join(', '))
    const report = JSON.parse(readFileSync(join(reports, json), 'utf8')) as DrillReport
    assert.is(report.verdict, 'passed', report.reason)
    const lost = report.measures.find((m) => m.name === 'RPO: acknowledged rows lost')
    assert.is(lost?.value, 0)
    const downtimes = report.measures.filter((m) => m.name.startsWith('write downtime '))
    assert.equal(downtimes.map((m) => m.name), ['write downtime db1 → db2', 'write downtime db2 → db1'])
    assert.ok(downtimes.every((m) => m.unit === 'ms' && m.value > 0), JSON.stringify(downtimes))
    console.log(`    [measured] write downtime per leg: ${downtimes.map((m) => `${(m.value / 1000).toFixed(2)} s`).join(', ')}`)
    assert.ok(report.measures.filter((m) => m.name.startsWith('WAL of ')).every((m) => m.value === 0), 'no WAL beyond either switch point')
    // Two promotions: the timeline went up by two.
    const tl = (s: string | undefined) => Number(/timeline (\d+)/.exec(s ?? '')?.[1])
    assert.is(tl(report.topology.after.db1), tl(report.topology.before.db1) + 2, JSON.stringify(report.topology))
    assert.match(report.topology.after.db1 ?? '', /^primary/)
    assert.match(report.topology.after.db2 ?? '', /^standby.*from streaming 10\.77\.0\.11/)
    // The steps name their commands: the promote and the fast stop are in the Markdown.
    const text = readFileSync(join(reports, md), 'utf8')
    assert.match(text, /^# Drill pg-switchover: PASSED/)
    assert.match(text, /IF NOT pg_promote\(true, 60\) THEN RAISE EXCEPTION/)
    assert.match(text, /fence record on db1: db2 is being promoted/)
    assert.match(text, /systemctl stop -- postgresql@15-main/)
    const password = reveal((hosts as LabHosts).vars('db1').pg_harbor_password as string | Secret)
    assert.ok(password.length >= 8 && !text.includes(password) && !readFileSync(join(reports, json), 'utf8').includes(password), 'no password in the reports')
    // Every event of the run carries its time.
    assert.ok(r.events.every((e) => typeof e.at === 'string' && /^\d{4}-\d\d-\d\dT/.test(e.at)))
    // The pair is as the inventory says: the converge finds nothing to do.
    const again = await converge()
    assert.is(again.code, 0, describeRun(again))
    assert.equal(changedTasks(again), [])
    assert.is(await query('db1', 'select pg_is_in_recovery()'), 'f')
    assert.is(await query('db2', 'select pg_is_in_recovery()'), 't')
    assert.is(await query('db1', "select count(*) from pg_namespace where nspname = 'berth_drill'"), '0', 'the writer table is gone')
  })

  test(NAMES[1] as string, async () => {
    const dataDir = (hosts as LabHosts).vars('db1').pg as { dataDir: string }
    const keptBefore = (await host('db1').$`ls -1d ${dataDir.dataDir}.replaced-* 2>/dev/null || true`).stdout.trim().split('\n').filter(Boolean)
    const r = await failover()
    assert.is(r.code, 0, `${describeRun(r)}\n${messages(r).join('\n')}`)
    const json = readdirSync(reports).find((f) => /^pg-failover-\d{8}-\d{6}\.json$/.test(f))
    assert.ok(json, readdirSync(reports).join(', '))
    const report = JSON.parse(readFileSync(join(reports, json), 'utf8')) as DrillReport
    assert.is(report.verdict, 'passed', report.reason)
    assert.ok(report.faultAtMs !== undefined && report.faultAtMs > 0)
    const m = (name: string) => report.measures.find((x) => x.name === name)
    for (const name of ['detection: fault to no answer', 'RTO: fault to the first acknowledged write', 'failover: detected to writes accepted', 'failover and rejoin: fault to the old primary streaming again'])
      assert.ok((m(name)?.value ?? 0) > 0 && m(name)?.unit === 'ms', `${name}: ${JSON.stringify(m(name))}`)
    const lost = m('RPO: acknowledged rows lost in the failover')
    assert.ok(lost && lost.unit === 'rows' && lost.value >= 0, JSON.stringify(report.measures))
    assert.is(m('acknowledged rows lost after the failover (rejoin, switchback)')?.value, 0)
    console.log(`    [measured] failover: ${['detection: fault to no answer', 'failover: detected to writes accepted', 'RTO: fault to the first acknowledged write', 'failover and rejoin: fault to the old primary streaming again'].map((n) => `${n} ${((m(n)?.value ?? 0) / 1000).toFixed(2)} s`).join(', ')}; rows lost ${lost.value}`)
    // Fenced twice: by the power cut, then at boot by the start guard, which saw db2 on a later timeline.
    assert.equal(report.fencing.map((f) => f.host), ['db1', 'db1'])
    assert.match(report.fencing[1]?.evidence ?? '', /by the start guard: 10\.77\.0\.12 runs timeline \d+ of system \d+, later than this cluster's \d+ \(it was promoted\)/)
    // Nothing deleted: db1's own data directory from before the rejoin is kept beside, a whole cluster.
    const kept = (await host('db1').$`ls -1d ${dataDir.dataDir}.replaced-*`).stdout.trim().split('\n').filter((d) => !keptBefore.includes(d))
    assert.is(kept.length, 1, kept.join(', '))
    assert.is((await host('db1').$`cat ${kept[0] as string}/PG_VERSION`).stdout.trim(), '15')
    // Switched back: db1 primary, db2 streaming, the fence lifted; the converge finds nothing to do.
    assert.is(await query('db1', 'select pg_is_in_recovery()'), 'f')
    assert.is(await query('db2', 'select pg_is_in_recovery()'), 't')
    assert.is((await host('db1').$`test -e /var/lib/berth/postgres/fenced`.nothrow()).code, 1, 'the fence is lifted once db1 follows db2')
    const again = await converge()
    assert.equal(changedTasks(again), [], describeRun(again))
  })

  test(NAMES[2] as string, async () => {
    const r = await restore('-e', 'drill.recoveryTarget=midway', '-e', 'drill.switchWal=true')
    assert.is(r.code, 0, `${describeRun(r)}\n${messages(r).join('\n')}`)
    const json = readdirSync(reports).find((f) => /^pg-restore-\d{8}-\d{6}\.json$/.test(f))
    assert.ok(json, readdirSync(reports).join(', '))
    const report = JSON.parse(readFileSync(join(reports, json), 'utf8')) as DrillReport
    assert.is(report.verdict, 'passed', report.reason)
    const m = (name: string) => report.measures.find((x) => x.name === name)
    assert.is(m('RPO: acknowledged rows lost (written before the target time)')?.value, 0, JSON.stringify(report.measures))
    assert.is(m('rows restored that were written after the target time')?.value, 0)
    const counted = report.steps.find((s) => s.name === 'count the rows on the restored cluster')?.detail ?? ''
    const [acked, restored] = (/^(\d+) acknowledged, (\d+) restored/.exec(counted) ?? []).slice(1).map(Number)
    // Midway: some rows before the target came back, and some acknowledged after it did not.
    assert.ok(acked !== undefined && restored !== undefined && restored > 0 && restored < acked, counted)
    assert.ok(report.steadyAfter.every((c) => c.ok) && report.steadyAfter.some((c) => c.name === 'the restored cluster never archived'), JSON.stringify(report.steadyAfter))
    console.log(`    [measured] restore: ${((m('restore: start to writes accepted on the restored cluster')?.value ?? 0) / 1000).toFixed(2)} s to writes accepted; ${counted}`)
    assert.is((await host('db2').$`pg_lsclusters -h | awk '$2 == "restore"'`).stdout.trim(), '', 'the restored cluster is dropped')
    assert.is((await host('db2').$`test -e ${RESTORE_DIR}`.nothrow()).code, 1, `${RESTORE_DIR} is removed`)
  })

  test(NAMES[3] as string, async () => {
    await host('db2').$`mkdir -p ${RESTORE_DIR} && echo keep > ${RESTORE_DIR}/operator-file`
    try {
      const r = await restore()
      assert.is(r.code, 7, describeRun(r))
      assert.match(messages(r).join('\n'), new RegExp(`drill pg-restore: ABORTED: .*${RESTORE_DIR} exists`), messages(r).join('\n'))
      assert.is((await host('db2').$`cat ${RESTORE_DIR}/operator-file`).stdout.trim(), 'keep')
      assert.not.ok(r.events.some((e) => e.kind === 'host_result' && e.status === 'changed'), 'nothing changed')
    } finally {
      await host('db2').$`rm -rf ${RESTORE_DIR}`
    }
  })

  test(NAMES[4] as string, async () => {
    await host('db2').$`systemctl stop postgresql@15-main`
    try {
      const before = await query('db1', 'select pg_current_wal_lsn() is not null, pg_is_in_recovery()')
      const r = await switchover()
      assert.is(r.code, 7, describeRun(r))
      assert.match(messages(r).join('\n'), /drill pg-switchover: ABORTED: no standby to switch to/, messages(r).join('\n'))
      assert.is(await query('db1', 'select pg_current_wal_lsn() is not null, pg_is_in_recovery()'), before, 'db1 is still the primary')
      assert.not.ok(r.events.some((e) => e.kind === 'host_result' && e.status === 'changed'), 'nothing changed')
    } finally {
      await host('db2').$`systemctl start postgresql@15-main`
    }
  })

  test(NAMES[5] as string, async () => {
    // By hand, as seed 001 does it: stop the primary, promote the standby.
    await host('db1').$`systemctl stop postgresql@15-main`
    await query('db2', 'select pg_promote(true, 60)')
    const r = await converge()
    assert.is(r.code, 1, describeRun(r))
    assert.match(errorOf(r), /the inventory says db1 is the PostgreSQL primary, but db2 \(primary, timeline \d+[^)]*\) is the primary; db1 is down \(shut down/)
    assert.match(errorOf(r), /put db2 in group pg_primary and db1 in pg_standby, or run with -e pg_primary=db2/)
    assert.equal(changedTasks(r), [])
    assert.is((await host('db1').$`systemctl is-active postgresql@15-main`.nothrow()).stdout.trim(), 'inactive', 'db1 was not started')
  })
}

test.run()
