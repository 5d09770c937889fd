// The disaster-recovery drills' targets (issue 15), measured on the lab from
// the drills' own reports, several runs each, medians given beside the target:
//
// - dr-pg-switchover (db1, db2): write downtime per leg (target 2 s), rows lost (0);
// - dr-pg-failover (db1, db2): detection to writes accepted (target 2 s), the
//   power cut to the old primary streaming again (target 30 s), rows lost;
// - dr-harbor-node-loss (nfs1, harbor1, harbor2, the lab's stand-in Harbor):
//   pull downtime through the virtual address (target 2 s).
//
// Part of `npm run bench`; alone: `npm run bench:drills`. Nothing is asserted on
// time; a drill that does not pass stops the bench. It owns lab `berth` while
// it runs and leaves it down.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_INVENTORY, Lab } from '../lab/lab.ts'
import type { DrillReport } from '../src/drill/report.ts'
import { describeRun, runLabPlaybook } from '../test/support/lab-playbook.ts'
import { LabHosts } from '../test/support/lab-hosts.ts'
import { reveal, type Secret } from '../src/secrets.ts'
import { median } from './timed-run.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const playbookPath = (name: string): string => join(ROOT, 'playbooks', `${name}.ts`)
const TRIALS = Number(process.env.BENCH_DRILL_TRIALS ?? 3)
const IMAGE = 'harbor-vip.berth.test/library/bench-drill:1'

interface Figure {
  /** The measure's name in the report, or a function of the report. */
  measure: string | ((r: DrillReport) => number | undefined)
  label: string
  unit: 'ms' | 'rows'
  target?: number
}

/** Run a drill once; its JSON report. */
async function runDrill(name: string, reports: string, ...args: string[]): Promise<DrillReport> {
  const r = await runLabPlaybook(playbookPath(`dr-${name}`), '-e', `drill.reportDir=${reports}`, ...args)
  const file = readdirSync(reports)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json'))
    .sort()
    .at(-1)
  if (r.code !== 0 || !file) throw new Error(`dr-${name}: exit ${r.code}: ${describeRun(r)}`)
  const report = JSON.parse(readFileSync(join(reports, file), 'utf8')) as DrillReport
  rmSync(join(reports, file))
  rmSync(join(reports, file.replace(/\.json$/, '.md')), { force: true })
  return report
}

function table(title: string, runs: DrillReport[], figures: Figure[]): string[] {
  const rows = figures.map((f) => {
    const values = runs.map((r) => (typeof f.measure === 'string' ? r.measures.find((m) => m.name === f.measure)?.value : f.measure(r))).filter((v): v is number => v !== undefined)
    const show = (v: number): string => (f.unit === 'ms' ? (v / 1000).toFixed(2) : String(v))
    const m = values.length ? median(values) : NaN
    const verdict = f.target === undefined || !values.length ? '' : m <= f.target ? 'met' : 'MISSED'
    return `| ${f.label} | ${values.length ? show(m) : '-'} | ${values.length ? `${show(Math.min(...values))} – ${show(Math.max(...values))}` : '-'} | ${values.length} | ${f.target === undefined ? '' : `at most ${show(f.target)}`} ${verdict} |`
  })
  return [`### ${title}`, '', `| figure | median | range | runs | target |`, '|---|---|---|---|---|', ...rows, '']
}

const sumOf = (prefix: string) => (r: DrillReport): number | undefined => {
  const ms = r.measures.filter((m) => m.name.startsWith(prefix))
  return ms.length ? Math.max(...ms.map((m) => m.value)) : undefined
}

export async function benchDrills(log: (line: string) => void): Promise<string[]> {
  const lab = Lab.open(DEFAULT_INVENTORY, (line) => log(`   ${line}`))
  const reports = mkdtempSync(join(tmpdir(), 'berth-bench-drills-'))
  await lab.hold('bench/drills.ts')
  const out: string[] = ['## Disaster-recovery drills on the lab', '', `Each drill run ${TRIALS} times; the figures are the drills' own measures (their reports), medians of the runs.`, '']
  try {
    await lab.down()
    await lab.up(['db1', 'db2'])
    log('== drills: converging ha-pg-replicated on db1, db2')
    const c = await runLabPlaybook(playbookPath('ha-pg-replicated'), '--limit', 'postgres')
    if (c.code !== 0) throw new Error(`ha-pg-replicated: ${describeRun(c)}`)
    const switchovers: DrillReport[] = []
    const failovers: DrillReport[] = []
    for (let i = 0; i < TRIALS; i++) {
      switchovers.push(await runDrill('pg-switchover', reports))
      log(`   pg-switchover ${i + 1}: ${switchovers.at(-1)?.reason}`)
      failovers.push(await runDrill('pg-failover', reports, '--limit', 'postgres'))
      log(`   pg-failover ${i + 1}: ${failovers.at(-1)?.reason}`)
    }
    out.push(
      ...table('dr-pg-switchover (db1 → db2 → db1, PostgreSQL 15)', switchovers, [
        { measure: sumOf('write downtime '), label: 'write downtime, the longer leg (s)', unit: 'ms', target: 2000 },
        { measure: 'RPO: acknowledged rows lost', label: 'acknowledged rows lost', unit: 'rows', target: 0 },
      ]),
      ...table('dr-pg-failover (db1 powered off, db2 promoted, db1 rejoined, switched back)', failovers, [
        { measure: 'detection: fault to no answer', label: 'detection (s)', unit: 'ms' },
        { measure: 'failover: detected to writes accepted', label: 'detected to writes accepted (s)', unit: 'ms', target: 2000 },
        { measure: 'RTO: fault to the first acknowledged write', label: 'RTO: power cut to the first acknowledged write (s)', unit: 'ms' },
        { measure: 'failover and rejoin: fault to the old primary streaming again', label: 'power cut to the old primary streaming again (s)', unit: 'ms', target: 30_000 },
        { measure: 'RPO: acknowledged rows lost in the failover', label: 'acknowledged rows lost (asynchronous replication)', unit: 'rows' },
        { measure: (r) => r.durationMs, label: 'the whole drill, switchback and converge included (s)', unit: 'ms' },
      ]),
    )

    await lab.down()
    await lab.up(['nfs1', 'harbor1', 'harbor2'])
    log('== drills: converging ha-keepalived-vip on nfs1, harbor1, harbor2 (the lab stand-in Harbor)')
    const v = await runLabPlaybook(playbookPath('ha-keepalived-vip'))
    if (v.code !== 0) throw new Error(`ha-keepalived-vip: ${describeRun(v)}`)
    // The client: nfs1's Docker, plain HTTP to the address's name (the lab has no TLS), logged in, with an image to pull.
    const hosts = await LabHosts.load()
    hosts.connect('nfs1')
    try {
      const nfs1 = hosts.host('nfs1')
      await nfs1.$`printf '%s\n' ${JSON.stringify({ 'insecure-registries': ['harbor-vip.berth.test'] })} > /etc/docker/daemon.json && systemctl restart docker`
      await nfs1.$`docker login -u admin --password-stdin harbor-vip.berth.test`.stdin(reveal(hosts.vars('harbor1').harbor_admin_password as string | Secret))
      await nfs1.$`tar -C /etc -c hostname os-release | docker import - ${IMAGE} >/dev/null && docker push -q ${IMAGE}`
    } finally {
      await Promise.all(hosts.connections.map((c) => c.close()))
    }
    const losses: DrillReport[] = []
    for (let i = 0; i < TRIALS; i++) {
      losses.push(await runDrill('harbor-node-loss', reports, '-e', 'drill.client=nfs1', '-e', `drill.image=${IMAGE}`))
      log(`   harbor-node-loss ${i + 1}: ${losses.at(-1)?.reason}`)
    }
    out.push(
      ...table('dr-harbor-node-loss (the holder of the address powered off; nfs1 pulls through the name)', losses, [
        { measure: (r) => r.measures.find((m) => m.name.startsWith('fault to 10.77.0.100 on '))?.value, label: 'power cut to the address on the other node (s)', unit: 'ms' },
        { measure: 'fault to the first pull that worked', label: 'power cut to the first pull that worked (s)', unit: 'ms' },
        { measure: 'RTO: pull downtime', label: 'pull downtime: last pull before the cut to the first after (s)', unit: 'ms', target: 2000 },
      ]),
    )
    return out
  } finally {
    rmSync(reports, { recursive: true, force: true })
    try {
      await lab.down()
    } finally {
      await lab.release()
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await benchDrills((l) => void process.stdout.write(`${l}\n`))
  process.stdout.write(`\n${lines.join('\n')}\n`)
}
