// The virtual address's failover on the lab (seed 003): from a fault on the
// node holding it to the address answering on the other node, for three
// faults, several trials each, medians reported with the configuration used.
// playbooks/ha-keepalived-vip.ts converges nfs1, harbor1 and harbor2 first
// (Harbor is the lab's stand-in); keepalived is real (2.2.7, VRRPv3, unicast).
//
// "Answering on the other node": the address is on the other node's
// interface (read through the lab, no network needed) and an HTTP GET of
// Harbor's /api/v2.0/ping through the address, from this machine on the lab
// bridge, gets 200. The clock starts just before the fault is injected:
// - crash: `lab kill` of the holder (every process dies at once);
// - unhealthy: `docker stop -t 0 harbor-core` on the holder (SIGKILL at once;
//   its health body turns unhealthy, nginx still answers, with 502);
// - clean stop: `systemctl stop keepalived` on the holder (a priority-0 advert).
// After each trial the node is brought back and left BACKUP (nopreempt), so
// the next trial's fault hits the other node.
//
// Part of `npm run bench`; alone: `npm run bench:vip`. Nothing is asserted on
// time. It owns lab `berth` while it runs and leaves it down.
import { request } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { DEFAULT_INVENTORY, Lab } from '../lab/lab.ts'
import { runLabPlaybook } from '../test/support/lab-playbook.ts'
import { holdsVip, otherNode, soleHolder, transitions, VIP, waitUntil, type VipNode } from '../test/support/vip-lab.ts'
import { median } from './timed-run.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-keepalived-vip.ts')
const TRIALS = Number(process.env.BENCH_VIP_TRIALS ?? 5)

export const VIP_TARGETS_S = { crash: 1, unhealthy: 2, 'clean stop': 0.3 } as const
type Fault = keyof typeof VIP_TARGETS_S

/** GET /api/v2.0/ping through the address on a fresh connection (no pooled socket to the old node). */
function pingThroughAddress(timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: VIP, port: 80, path: '/api/v2.0/ping', agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      done(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => done(false))
    req.end()
  })
}

/** One trial: the fault on the holder, then seconds until the other node holds the address and answers through it. */
async function trial(lab: Lab, fault: Fault): Promise<{ seconds: number; from: VipNode }> {
  const from = await soleHolder(lab)
  const to = otherNode(from)
  const t0 = performance.now()
  // Not awaited before polling: `systemctl stop keepalived` returns only when keepalived has exited, about 1 s
  // after its priority-0 advert has already moved the address; `lab kill` returns once every process is reaped.
  let failed: unknown
  const injected: Promise<unknown> = (
    fault === 'crash' ? lab.kill(from) : fault === 'unhealthy' ? lab.exec(from, ['docker', 'stop', '-t', '0', 'harbor-core']) : lab.exec(from, ['systemctl', 'stop', 'keepalived'])
  ).catch((e: unknown) => (failed = e))
  for (;;) {
    if (failed !== undefined) throw failed
    if ((await holdsVip(lab, to)) && (await pingThroughAddress(250))) break
    if (performance.now() - t0 > 30_000) throw new Error(`${fault} of ${from}: the address did not answer on ${to} within 30 s`)
  }
  const seconds = (performance.now() - t0) / 1000
  await injected
  if (failed !== undefined) throw failed
  // Back as it was, BACKUP: the next trial faults the other node.
  if (fault === 'crash') await lab.start(from)
  else if (fault === 'unhealthy') await lab.exec(from, ['docker', 'start', 'harbor-core'])
  else await lab.exec(from, ['systemctl', 'start', 'keepalived'])
  await waitUntil(`${from} BACKUP again`, async () => (await transitions(lab, from)).at(-1)?.state === 'BACKUP', 120_000, 200)
  if ((await soleHolder(lab)) !== to) throw new Error(`the address went back to ${from}: nopreempt should keep it on ${to}`)
  return { seconds, from }
}

/** The configuration the figures come from, read from the inventory the playbook used. */
function configuration(): string {
  const vars = parse(readFileSync(join(dirname(DEFAULT_INVENTORY), 'group_vars', 'keepalived', 'main.yml'), 'utf8')) as {
    keepalived: { version: number; advertInterval: number; transport: string; preemption: { mode: string }; health: { intervalSeconds: number; fall: number; rise: number; requestTimeoutSeconds: number } }
  }
  const k = vars.keepalived
  return `VRRPv${k.version}, advert_int ${k.advertInterval} s, down_timer_adverts 3, priorities 150/140, ${k.transport}, ${k.preemption.mode}; health check every ${k.health.intervalSeconds} s, fall ${k.health.fall}, rise ${k.health.rise}, curl --max-time ${k.health.requestTimeoutSeconds} s, weight 0 (FAULT)`
}

export async function benchVipFailover(log: (line: string) => void): Promise<string[]> {
  const lab = Lab.open(DEFAULT_INVENTORY, (line) => log(`   ${line}`))
  await lab.hold('bench/vip-failover.ts')
  try {
    await lab.down()
    await lab.up(['nfs1', 'harbor1', 'harbor2'])
    log('== seed 003: converging ha-keepalived-vip on nfs1, harbor1, harbor2')
    const first = await runLabPlaybook(PLAYBOOK)
    if (first.code !== 0) throw new Error(`ha-keepalived-vip: exit ${first.code}\n${first.stderr.slice(-2000)}`)
    const rows: string[] = []
    const verdicts: string[] = []
    for (const fault of Object.keys(VIP_TARGETS_S) as Fault[]) {
      const seconds: number[] = []
      for (let i = 0; i < TRIALS; i++) {
        const t = await trial(lab, fault)
        seconds.push(t.seconds)
        log(`   ${fault} of ${t.from}: ${t.seconds.toFixed(3)} s`)
      }
      const m = median(seconds)
      const target = VIP_TARGETS_S[fault]
      rows.push(`| ${fault} | ${m.toFixed(2)} | ${Math.min(...seconds).toFixed(2)} | ${Math.max(...seconds).toFixed(2)} | ${TRIALS} | at most ${target} |`)
      verdicts.push(`- ${fault}: median ${m.toFixed(2)} s (target at most ${target} s: ${m <= target ? 'met' : 'MISSED'})`)
    }
    return [
      '## Seed 003 on the lab: the virtual address moving (nfs1, harbor1, harbor2)',
      '',
      `Configuration: ${configuration()}. From just before the fault is injected to the address on the other node's interface and Harbor's /api/v2.0/ping answering 200 through it (a new connection every probe, from this machine on the lab bridge). Crash: \`lab kill\` of the holder; unhealthy: \`docker stop -t 0 harbor-core\` on it; clean stop: \`systemctl stop keepalived\` on it.`,
      '',
      '| fault | median (s) | min (s) | max (s) | trials | target (s) |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      ...verdicts,
    ]
  } finally {
    try {
      await lab.down()
    } finally {
      await lab.release()
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await benchVipFailover((l) => void process.stdout.write(`${l}\n`))
  process.stdout.write(`\n${lines.join('\n')}\n`)
}
