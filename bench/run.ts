// npm run bench: berth against ansible-playbook, side by side in one run, on
// the same lab hosts with the same work (bench/workload.ts and
// bench/ansible/workload.yml: 30 tasks per host), the same forks, the same SSH
// key and strict host key checking. It brings up its own lab (25 hosts, lab
// `bench`), installs ansible-core when missing, and leaves nothing behind.
//
// Then each seed's whole stack on the lab's own hosts (bench/seed-stack.ts), and
// the virtual address's failover times (bench/vip-failover.ts), and the
// disaster-recovery drills' figures (bench/drills.ts).
//
// Not a test: nothing here is asserted on time. It fails only when a tool fails
// or the tools' results differ. Figures are ratios measured in this one run.
//
//   npm run bench                       everything (about 15 minutes on 2 cores)
//   BENCH_RUN_LIMIT_S=600 npm run bench a tighter bound per tool run
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Lab } from '../lab/lab.ts'
import { allProcesses } from '../lab/proc.ts'
import { requireLinuxRoot } from '../lab/errors.ts'
import { Host } from '../src/host.ts'
import { Inventory } from '../src/inventory/inventory.ts'
import { Redactor } from '../src/secrets.ts'
import { SshConnection } from '../src/connection/ssh.ts'
import { resolveSshTarget } from '../src/connection/ssh-options.ts'
import { runPlay, RunLedger } from '../src/runner/play.ts'
import { apt } from '../src/resources/index.ts'
import { CountingConnection } from '../test/support/counting-connection.ts'
import { benchHostName, SIZES, writeBenchInventory } from './bench-lab.ts'
import { compareTrees } from './compare-trees.ts'
import { checkRun, median, timedRun, type Expect, type RunResult } from './timed-run.ts'
import { benchTasks, workloadPaths } from './workload.ts'
import { benchSeedStacks } from './seed-stack.ts'
import { benchVipFailover } from './vip-failover.ts'
import { benchDrills } from './drills.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const FORKS = Math.max(...SIZES)
const REPEAT = 3
const LIMIT_S = Number(process.env.BENCH_RUN_LIMIT_S ?? 900)
const TASKS_PER_HOST = benchTasks('/x').length

interface Tool {
  name: string
  /** Where this tool's files go on every host: each tool works on its own fresh targets. */
  root: string
  argv(limit: string, check: boolean): string[]
  env: NodeJS.ProcessEnv
}

const log = (line: string): void => void process.stdout.write(`${line}\n`)
const s = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
const ratio = (other: number, berth: number): string => `${(other / berth).toFixed(1)}×`
const signed = (x: number): string => `${x < 0 ? '-' : '+'}${s(Math.abs(x))}`

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

function ensureAnsible(): string {
  try {
    return sh('ansible-playbook', ['--version']).split('\n')[0] ?? ''
  } catch {
    log('== ansible-playbook is missing: apt-get install ansible-core (Debian)')
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ansible-core >/dev/null'], { stdio: 'inherit' })
    return sh('ansible-playbook', ['--version']).split('\n')[0] ?? ''
  }
}

requireLinuxRoot()
const ansibleVersion = ensureAnsible()
const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-'))
const inventoryPath = writeBenchInventory(tmp)
const lab = Lab.open(inventoryPath, (l) => log(`   ${l}`))
const hostNames = (n: number): string[] => Array.from({ length: n }, (_, i) => benchHostName(i))

const ansibleEnv = (variant: string): NodeJS.ProcessEnv => ({
  ANSIBLE_CONFIG: join(ROOT, 'bench', 'ansible', `${variant}.cfg`),
  BERTH_BENCH_TMP: tmp,
  ANSIBLE_HOME: join(tmp, 'ansible-home'),
  ANSIBLE_LOCAL_TEMP: join(tmp, 'ansible-local'),
  ANSIBLE_NOCOLOR: '1',
})
const ansible = (variant: 'default' | 'pipelining', name: string): Tool => ({
  name,
  root: `/srv/bench/ansible-${variant}`,
  argv: (limit, check) => ['ansible-playbook', '-i', inventoryPath, join(ROOT, 'bench', 'ansible', 'workload.yml'), '-l', limit, '-f', String(FORKS), '-e', `bench_root=/srv/bench/ansible-${variant}`, ...(check ? ['--check'] : [])],
  env: ansibleEnv(variant),
})
const WORKLOAD = join(ROOT, 'bench', 'berth-workload.ts')
const berthArgs = (limit: string, check: boolean): string[] => ['-i', inventoryPath, '--limit', limit, '-f', String(FORKS), '-e', 'bench_root=/srv/bench/berth', ...(check ? ['--check'] : [])]
// node --import tsx: the playbook as a zx script without npx's own start-up (see the breakdown and the start-up table).
const berth: Tool = {
  name: 'berth',
  root: '/srv/bench/berth',
  argv: (limit, check) => [process.execPath, '--import', 'tsx', WORKLOAD, ...berthArgs(limit, check)],
  env: { NO_COLOR: '1' },
}
/** The ways an operator starts a playbook, for the start-up table: the same berth run, the same targets. */
const berthStarts: { how: string; command: string; tool: Tool }[] = [
  { how: 'node --import tsx', command: '`node --import tsx bench/berth-workload.ts …`', tool: berth },
  // Its first line: sh, then `exec node --import …/src/tsx.mjs` (tsx resolved from the script, not the cwd); `node` from PATH.
  { how: 'its first line', command: '`./bench/berth-workload.ts …`', tool: { ...berth, name: 'berth (./bench/berth-workload.ts)', argv: (limit, check) => [WORKLOAD, ...berthArgs(limit, check)] } },
  { how: 'npx tsx', command: '`npx tsx bench/berth-workload.ts …`', tool: { ...berth, name: 'berth (npx tsx)', argv: (limit, check) => ['npx', 'tsx', WORKLOAD, ...berthArgs(limit, check)] } },
]
const STARTS_REPEAT = 5
const ansibleDefault = ansible('default', 'ansible-playbook (defaults)')
const ansiblePipelining = ansible('pipelining', 'ansible-playbook (pipelining, ControlPersist)')

async function run(tool: Tool, n: number, check: boolean, expect: Expect, what: string): Promise<RunResult> {
  const r = await timedRun(tool.argv(`n${n}`, check), { env: tool.env, cwd: ROOT, limitSeconds: LIMIT_S })
  checkRun(`${tool.name}, ${what}, ${n} hosts`, r, hostNames(n), expect)
  log(`   ${tool.name.padEnd(46)} ${what.padEnd(10)} ${String(n).padStart(2)} hosts  ${r.timedOut ? `> ${LIMIT_S} s (killed)` : `${s(r.seconds)} s`}`)
  return r
}
const seconds = (r: RunResult): number => (r.timedOut ? Number.POSITIVE_INFINITY : r.seconds)
async function repeat(tool: Tool, n: number, check: boolean, what: string, times = REPEAT): Promise<number> {
  const out: number[] = []
  for (let i = 0; i < times; i++) out.push(seconds(await run(tool, n, check, 'no-change', what)))
  return median(out)
}

/** Engine hosts over ssh2, counting execs, for the file comparison and the breakdown. */
async function engineHosts(names: readonly string[]): Promise<{ hosts: Host[]; counters: CountingConnection[] }> {
  const inv = await Inventory.load([inventoryPath], { redactor: new Redactor() })
  const counters: CountingConnection[] = []
  const hosts = names.map((name) => {
    const vars = inv.host(name)?.vars ?? {}
    const connection = new CountingConnection(new SshConnection(resolveSshTarget(name, vars)))
    counters.push(connection)
    return new Host({ name, address: String(vars.ansible_host), vars, connection })
  })
  return { hosts, counters }
}

/** Where berth's no-op run at 3 hosts spends its time: process start, module load, inventory, connect, round trips, engine CPU. */
async function breakdown(wallNoop: number): Promise<string[][]> {
  const timeIt = (argv: string[]): number => {
    const xs: number[] = []
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now()
      execFileSync(argv[0] as string, argv.slice(1), { cwd: ROOT, stdio: 'ignore' })
      xs.push(performance.now() - t)
    }
    return median(xs)
  }
  const nodeStart = timeIt([process.execPath, '-e', '0'])
  const tsxStart = timeIt([process.execPath, '--import', 'tsx', '-e', '0'])
  const engineLoad = timeIt([process.execPath, '--import', 'tsx', '-e', "import('./src/index.ts')"])
  const zxLoad = timeIt([process.execPath, '--import', 'tsx', '-e', "import('./src/index.ts').then(() => globalThis.$)"])
  const npxStart = timeIt(['npx', 'tsx', '-e', '0'])
  const t0 = performance.now()
  const { hosts, counters } = await engineHosts(hostNames(3))
  const inventoryMs = performance.now() - t0
  const t1 = performance.now()
  await Promise.all(hosts.map((h) => h.connection.connect()))
  const connectMs = performance.now() - t1
  const tasks = new Map(hosts.map((h) => [h.name, benchTasks(berth.root)]))
  const cpu0 = process.cpuUsage()
  const t2 = performance.now()
  const ledger = new RunLedger()
  await runPlay({ name: 'bench', pattern: 'n3', hosts, tasks, options: {} }, { check: false, diff: false, forks: FORKS, verbosity: 0, tags: { only: [], skip: [] } }, ledger, () => {})
  const runMs = performance.now() - t2
  const cpu = process.cpuUsage(cpu0)
  const execs = counters.reduce((n, c) => n + c.commands.length, 0)
  const changed = [...ledger.counts.values()].reduce((n, c) => n + c.changed, 0)
  await Promise.all(hosts.map((h) => h.connection.close()))
  if (changed !== 0) throw new Error(`breakdown: the in-process no-op run changed ${changed} tasks`)
  return [
    ['node start (node -e 0)', s(nodeStart / 1000)],
    ['tsx loader on top of it', s((tsxStart - nodeStart) / 1000)],
    ['loading the engine (src/index.ts and its libraries)', s((engineLoad - tsxStart) / 1000)],
    ["zx, loaded on a playbook's first use of a zx global ($, fs, chalk, …; not in this workload)", s((zxLoad - engineLoad) / 1000)],
    ['inventory load (YAML, group_vars)', s(inventoryMs / 1000)],
    ['SSH connect, 3 hosts in parallel', s(connectMs / 1000)],
    [`the no-op play: ${execs} execs for ${3 * TASKS_PER_HOST} tasks (facts batched), engine CPU ${s((cpu.user + cpu.system) / 1e6)} s`, s(runMs / 1000)],
    ['the whole run, as timed above (node --import tsx)', s(wallNoop)],
    ['for comparison: npx tsx -e 0 (what `npx tsx playbooks/…` adds before node starts the script)', s(npxStart / 1000)],
  ]
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function cleanupSshMasters(): void {
  // ControlPersist masters outlive ansible-playbook by design; their sockets are in tmp.
  for (const p of allProcesses()) if (p.argv[0]?.endsWith('ssh') && p.argv.some((a) => a.includes(tmp))) {
    try {
      process.kill(p.pid, 'SIGTERM')
    } catch {
      // gone already
    }
  }
}

/** Boot the first n bench hosts (the others stay as they are) and give them python3 for Ansible, with berth (not timed). */
async function bootAndPrepare(n: number): Promise<void> {
  const up = await lab.up(hostNames(n))
  log(`== bench lab: ${n} hosts booted (lab ${lab.config.name}, ${lab.config.bridge}; ${up.started.length} started in ${up.seconds} s)`)
  log('   ansible needs python3 on its targets: installed by berth from the lab repository (not timed)')
  const { hosts } = await engineHosts(hostNames(n))
  const ledger = new RunLedger()
  await runPlay(
    { name: 'python3', pattern: 'all', hosts, tasks: new Map(hosts.map((h) => [h.name, [apt({ packages: ['python3'], updateCache: true })]])), options: {} },
    { check: false, diff: false, forks: FORKS, verbosity: 0, tags: { only: [], skip: [] } },
    ledger,
    () => {},
  )
  await Promise.all(hosts.map((h) => h.connection.close()))
  if (ledger.failed.size || ledger.unreachable.size) throw new Error(`installing python3 failed on ${[...ledger.failed, ...ledger.unreachable].join(', ')}`)
}

let exitCode = 0
try {
  await lab.hold('npm run bench')
  await lab.down()
  // The 3-host comparison runs with only those 3 hosts booted, as the lab of the
  // field runbooks and DESIGN.md's Ansible baseline: every booted host shares
  // this machine's 2 cores, and 22 idle ones made every run slower (berth's
  // 3-host no-op 0.7 s with 3 hosts up, 1.0 s to 1.2 s with 25). The growth
  // runs below boot all 25 and measure every size there, 3 included.
  await bootAndPrepare(3)

  const tools = [berth, ansibleDefault, ansiblePipelining]
  const at3 = new Map<Tool, { first: number; noop: number; check: number }>()
  log(`== 3 hosts: first run on fresh targets, then the no-op run ${REPEAT} times, then --check ${REPEAT} times (forks ${FORKS})`)
  for (const tool of tools) {
    const first = seconds(await run(tool, 3, false, 'changes', 'first'))
    const noop = await repeat(tool, 3, false, 'no-op')
    const check = await repeat(tool, 3, true, '--check')
    at3.set(tool, { first, noop, check })
  }

  log(`== how berth is started: its no-op run at 3 hosts, ${STARTS_REPEAT} times each way, interleaved`)
  const starts = new Map<Tool, number[]>(berthStarts.map((b) => [b.tool, []]))
  for (let i = 0; i < STARTS_REPEAT; i++) for (const { tool } of berthStarts) starts.get(tool)?.push(seconds(await run(tool, 3, false, 'no-change', 'no-op')))
  const startMedian = (t: Tool): number => median(starts.get(t) ?? [])

  log('== same result: the files each tool left, compared host by host')
  {
    const { hosts } = await engineHosts(hostNames(3))
    for (const h of hosts) for (const other of [ansibleDefault, ansiblePipelining]) await compareTrees(h, { label: berth.name, root: berth.root }, { label: other.name, root: other.root }, workloadPaths())
    await Promise.all(hosts.map((h) => h.connection.close()))
    log('   identical: paths, types, modes, owners, groups and contents')
  }

  log('== where berth spends its no-op run at 3 hosts (same 3 hosts booted)')
  const parts = await breakdown(at3.get(berth)?.noop as number)

  log('== growth: the no-op run for 1, 3, 10 and 25 hosts, all 25 booted (the hosts beyond 3 are converged first, not timed)')
  await bootAndPrepare(Math.max(...SIZES))
  await run(berth, Math.max(...SIZES), false, 'converge', 'converge')
  await run(ansiblePipelining, Math.max(...SIZES), false, 'converge', 'converge')
  const growth = new Map<number, { berth: number; ansible: number }>()
  for (const n of SIZES) {
    const b = await repeat(berth, n, false, 'no-op')
    const a = await repeat(ansiblePipelining, n, false, 'no-op', n <= 3 ? REPEAT : 1)
    growth.set(n, { berth: b, ansible: a })
  }

  // The seeds' stacks on the lab's own hosts; the bench's 25 go down first (idle hosts share the cores).
  cleanupSshMasters()
  await lab.down()
  const seeds = await benchSeedStacks(log)
  const vip = await benchVipFailover(log)
  const drills = await benchDrills(log)

  const b3 = at3.get(berth) as { first: number; noop: number; check: number }
  const p3 = at3.get(ansiblePipelining) as { first: number; noop: number; check: number }
  const g1 = growth.get(1)?.berth as number
  const g25 = growth.get(25) as { berth: number; ansible: number }
  const commit = (() => {
    try {
      return sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])
    } catch {
      return 'unknown'
    }
  })()
  const atLeast = (label: string, value: number, goal: number): string => `- ${label}: ${value.toFixed(1)}× (target at least ${goal}×: ${value >= goal ? 'met' : 'MISSED'})`
  const atMost = (label: string, value: number, goal: number): string => `- ${label}: ${value.toFixed(2)} (target at most ${goal}: ${value <= goal ? 'met' : 'MISSED'})`
  const date = new Date().toISOString()
  const report = [
    `# berth against ansible-playbook, ${date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${sh('uname', ['-r'])}, Debian ${readFileSync('/etc/debian_version', 'utf8').trim()}.`,
    `Lab: systemd-nspawn Debian 12 hosts on one bridge of this machine, sharing its cores: 3 booted for the 3-host comparison, all ${Math.max(...SIZES)} for the growth runs.`,
    `Versions: berth ${commit}, node ${process.version}; ${ansibleVersion}; ${execFileSync('sh', ['-c', 'ssh -V 2>&1'], { encoding: 'utf8' }).trim()}.`,
    `Workload: ${TASKS_PER_HOST} tasks per host (10 file, 10 lineinfile, 10 copy); forks ${FORKS} for every tool; one SSH key; strict host key checking for all.`,
    `Each tool works on its own fresh targets (${tools.map((t) => t.root).join(', ')}); after the first runs the files were compared and are identical.`,
    'berth runs as `node --import tsx bench/berth-workload.ts -i INVENTORY --limit nN -f 25` (the other ways of starting it: their own table); seconds are wall time of the whole process.',
    '',
    `## 3 hosts, only those 3 booted (medians of ${REPEAT}; ratios: the tool's time over berth's, pair by pair)`,
    '',
    table(
      ['tool', 'first run (s)', 'no-op run (s)', '--check (s)', 'first ×', 'no-op ×', 'check ×'],
      tools.map((t) => {
        const m = at3.get(t) as { first: number; noop: number; check: number }
        return [t.name, s(m.first), s(m.noop), s(m.check), ratio(m.first, b3.first), ratio(m.noop, b3.noop), ratio(m.check, b3.check)]
      }),
    ),
    '',
    `## Growth: the no-op run, all ${Math.max(...SIZES)} hosts booted (berth: median of ${REPEAT}; ansible-playbook with pipelining: median of ${REPEAT} up to 3 hosts, one run beyond; bound ${LIMIT_S} s a run)`,
    '',
    table(
      ['hosts', 'berth (s)', 'berth ms/task/host', 'ansible pipelining (s)', 'ansible ms/task/host', 'ansible ×'],
      SIZES.map((n) => {
        const g = growth.get(n) as { berth: number; ansible: number }
        const per = (x: number): string => (Number.isFinite(x) ? ((x * 1000) / TASKS_PER_HOST / n).toFixed(1) : '-')
        return [String(n), s(g.berth), per(g.berth), Number.isFinite(g.ansible) ? s(g.ansible) : `> ${LIMIT_S}`, per(g.ansible), ratio(g.ansible, g.berth)]
      }),
    ),
    '',
    `## Starting berth: its no-op run at 3 hosts, each way (medians of ${STARTS_REPEAT}, interleaved; only those 3 booted)`,
    '',
    table(
      ['how', 'command', 'no-op run (s)', 'over node --import tsx (s)'],
      berthStarts.map(({ how, command, tool }) => [how, command, s(startMedian(tool)), tool === berth ? '-' : signed(startMedian(tool) - startMedian(berth))]),
    ),
    '',
    "## berth's no-op run at 3 hosts, part by part (medians)",
    '',
    table(['part', 's'], parts),
    '',
    '## Targets',
    '',
    atLeast('no-op, 3 hosts, against pipelining', p3.noop / b3.noop, 25),
    atLeast('first run, 3 hosts, against pipelining', p3.first / b3.first, 10),
    atLeast('no-op, 25 hosts, against pipelining', g25.ansible / g25.berth, 25),
    atMost("berth's no-op at 25 hosts over its no-op at 1 host", g25.berth / g1, 3),
    '',
    `Headline: berth's no-op run at 3 hosts is ${(p3.noop / b3.noop).toFixed(1)}× faster than ansible-playbook with pipelining (${s(b3.noop)} s against ${s(p3.noop)} s).`,
    '',
    ...seeds,
    '',
    ...vip,
    '',
    ...drills,
  ].join('\n')
  log(`\n${report}`)
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  const file = join(ROOT, 'bench', 'results', `${date.slice(0, 10)}.md`)
  writeFileSync(file, report + '\n')
  log(`\n(written to ${file})`)
} catch (e) {
  process.stderr.write(`\nbench failed: ${e instanceof Error ? e.message : String(e)}\n`)
  exitCode = 1
} finally {
  cleanupSshMasters()
  try {
    await lab.down()
  } finally {
    await lab.release()
    rmSync(tmp, { recursive: true, force: true })
  }
}
process.exitCode = exitCode
