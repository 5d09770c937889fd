// A whole seed's stack on the lab: the first converge on fresh hosts, split
// into package installs, image loads (an installer's upload and unpack
// included) and the rest, and the no-op run. Seed 000 (playbooks/
// ha-shared-nfs.ts: NFS, the database and Redis on nfs1, two Harbor nodes;
// three hosts) and seed 001 (playbooks/ha-pg-replicated.ts: the PostgreSQL
// pair, Redis, two Harbor nodes; five hosts), Harbor from the lab's stand-in
// installer. Part of `npm run bench`; alone: `npm run bench:seeds`. Nothing is
// asserted on time; a run that fails or changes what it should not stops it.
// It owns lab `berth` while it runs and leaves it down.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_INVENTORY, Lab } from '../lab/lab.ts'
import type { BerthEvent } from '../src/report/events.ts'
import { runLabPlaybook, type LabRun } from '../test/support/lab-playbook.ts'
import { median } from './timed-run.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const NOOP_REPEAT = 5
/** The issues' target for a whole stack's no-op run. */
export const SEED_NOOP_TARGET_S = 1.5

export interface SeedStack {
  /** 'seed 000'. */
  name: string
  /** What it builds, for the report's heading. */
  what: string
  playbook: string
  /** The lab hosts it plays (and the bench boots). */
  hosts: readonly string[]
}

export const SEED_STACKS: readonly SeedStack[] = [
  { name: 'seed 000', what: 'NFS, PostgreSQL and Redis on one storage node, two Harbor nodes', playbook: 'ha-shared-nfs.ts', hosts: ['nfs1', 'harbor1', 'harbor2'] },
  { name: 'seed 001', what: 'PostgreSQL pair, Redis, two Harbor nodes', playbook: 'ha-pg-replicated.ts', hosts: ['nfs1', 'db1', 'db2', 'harbor1', 'harbor2'] },
]

type Part = 'package installs' | 'image loads' | 'the rest'

/** What a task's operations did: an apt install, an image load (or the upload an installer's images come in), or anything else. */
function partOf(ops: readonly unknown[]): Part {
  const text = JSON.stringify(ops)
  if (/apt-get[^"]*install/.test(text)) return 'package installs'
  if (/docker load|"kind":"upload"/.test(text)) return 'image loads'
  return 'the rest'
}

/** Seconds per part on the run's critical path: plays and tasks run one after another, hosts in lockstep, so a task costs its slowest host. */
export function splitRun(events: readonly BerthEvent[], wallSeconds: number): Record<Part, number> {
  const tasks = new Map<string, { ms: number; part: Part }>()
  for (const e of events) {
    if (e.kind !== 'host_result') continue
    const key = `${e.play}\0${e.task}`
    const part = partOf(e.operations ?? [])
    const seen = tasks.get(key)
    tasks.set(key, { ms: Math.max(seen?.ms ?? 0, e.durationMs), part: seen && seen.part !== 'the rest' ? seen.part : part })
  }
  const sum = (p: Part): number => [...tasks.values()].filter((t) => t.part === p).reduce((a, t) => a + t.ms, 0) / 1000
  const packages = sum('package installs')
  const images = sum('image loads')
  return { 'package installs': packages, 'image loads': images, 'the rest': wallSeconds - packages - images }
}

function checked(what: string, r: LabRun, expectChanges: boolean, hosts: readonly string[]): LabRun {
  const recap = r.events.find((e) => e.kind === 'recap')
  if (r.code !== 0 || !recap || recap.kind !== 'recap') throw new Error(`${what}: exit ${r.code}\n${r.stderr.slice(-2000)}`)
  const changed = Object.values(recap.hosts).reduce((a, h) => a + h.changed, 0)
  if (!expectChanges && changed !== 0) throw new Error(`${what}: ${changed} changes on a run that should change nothing`)
  const played = Object.keys(recap.hosts).sort()
  if (played.join() !== [...hosts].sort().join()) throw new Error(`${what}: played ${played.join(', ')}, not ${hosts.join(', ')}`)
  return r
}

/** Run one seed's stack on fresh hosts and return the report's lines. */
export async function benchSeedStack(seed: SeedStack, log: (line: string) => void): Promise<string[]> {
  const playbook = join(ROOT, 'playbooks', seed.playbook)
  const runPlaybook = (): Promise<LabRun> => runLabPlaybook(playbook)
  const n = seed.hosts.length
  const lab = Lab.open(DEFAULT_INVENTORY, (line) => log(`   ${line}`))
  await lab.hold('bench/seed-stack.ts')
  try {
    await lab.down()
    await lab.up(seed.hosts)
    log(`== ${seed.name}: first converge of the whole stack on ${n} fresh hosts`)
    const first = checked('first converge', await runPlaybook(), true, seed.hosts)
    const split = splitRun(first.events, first.seconds)
    log(`== ${seed.name}: the no-op run, ${NOOP_REPEAT} times`)
    const noops: number[] = []
    const inRun: number[] = []
    for (let i = 0; i < NOOP_REPEAT; i++) {
      const r = checked('no-op', await runPlaybook(), false, seed.hosts)
      noops.push(r.seconds)
      const recap = r.events.find((e) => e.kind === 'recap')
      if (recap?.kind === 'recap' && recap.durationMs !== undefined) inRun.push(recap.durationMs / 1000)
    }
    const noop = median(noops)
    const f = (x: number): string => x.toFixed(x >= 10 ? 0 : 2)
    return [
      `## ${seed.name[0]?.toUpperCase()}${seed.name.slice(1)} on the lab: ${seed.what} (${n} hosts, ${DEFAULT_INVENTORY.split('/').slice(-2).join('/')})`,
      '',
      `Harbor is the lab's stand-in installer (see the README). Wall time of \`node --import tsx playbooks/${seed.playbook} -i inventory/lab.yml --json\`; the split sums, task by task, the slowest host's time of the tasks whose operations installed packages or loaded images (the installer's upload and unpack with them).`,
      '',
      '| run | s |',
      '|---|---|',
      `| first converge on fresh hosts | ${f(first.seconds)} |`,
      `| of which package installs | ${f(split['package installs'])} |`,
      `| of which image loads | ${f(split['image loads'])} |`,
      `| of which the rest | ${f(split['the rest'])} |`,
      `| no-op run, median of ${NOOP_REPEAT} | ${f(noop)} |`,
      `| no-op run inside berth (recap's duration), median | ${inRun.length ? f(median(inRun)) : '-'} |`,
      '',
      `- ${seed.name} no-op, whole stack: ${f(noop)} s (target at most ${SEED_NOOP_TARGET_S} s: ${noop <= SEED_NOOP_TARGET_S ? 'met' : 'MISSED'})`,
    ]
  } finally {
    try {
      await lab.down()
    } finally {
      await lab.release()
    }
  }
}

/** Every seed's stack, one after the other (each on fresh hosts). */
export async function benchSeedStacks(log: (line: string) => void): Promise<string[]> {
  const lines: string[] = []
  for (const seed of SEED_STACKS) lines.push(...(await benchSeedStack(seed, log)), '')
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await benchSeedStacks((l) => void process.stdout.write(`${l}\n`))
  process.stdout.write(`\n${lines.join('\n')}\n`)
}
