// The seed-001 stack on the lab (playbooks/ha-pg-replicated.ts: the PostgreSQL
// pair, Redis, two Harbor nodes from the lab's stand-in installer; five
// hosts): the first converge on fresh hosts, split into package installs,
// image loads (the installer's upload and unpack included) and the rest, and
// the no-op run. Part of `npm run bench`; alone: `npm run bench:seed001`.
// Nothing is asserted on time; a run that fails or changes what it should
// not stops it. It owns lab `berth` while it runs and leaves it down.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_INVENTORY, Lab } from '../lab/lab.ts'
import type { BerthEvent } from '../src/report/events.ts'
import { runLabPlaybook, type LabRun } from '../test/support/lab-playbook.ts'
import { median } from './timed-run.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-pg-replicated.ts')
const NOOP_REPEAT = 5
/** The target for the whole stack's no-op run. */
export const SEED001_NOOP_TARGET_S = 1.5

const runPlaybook = (): Promise<LabRun> => runLabPlaybook(PLAYBOOK)

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

function checked(what: string, r: LabRun, expectChanges: boolean): LabRun {
  const recap = r.events.find((e) => e.kind === 'recap')
  if (r.code !== 0 || !recap || recap.kind !== 'recap') throw new Error(`${what}: exit ${r.code}\n${r.stderr.slice(-2000)}`)
  const changed = Object.values(recap.hosts).reduce((a, h) => a + h.changed, 0)
  if (!expectChanges && changed !== 0) throw new Error(`${what}: ${changed} changes on a run that should change nothing`)
  if (Object.keys(recap.hosts).length !== 5) throw new Error(`${what}: played ${Object.keys(recap.hosts).join(', ')}, not the five hosts`)
  return r
}

/** Run it and return the report's lines. */
export async function benchSeed001(log: (line: string) => void): Promise<string[]> {
  const lab = Lab.open(DEFAULT_INVENTORY, (line) => log(`   ${line}`))
  await lab.hold('bench/seed001.ts')
  try {
    await lab.down()
    await lab.up()
    log('== seed 001: first converge of the whole stack on 5 fresh hosts')
    const first = checked('first converge', await runPlaybook(), true)
    const split = splitRun(first.events, first.seconds)
    log(`== seed 001: the no-op run, ${NOOP_REPEAT} times`)
    const noops: number[] = []
    const inRun: number[] = []
    for (let i = 0; i < NOOP_REPEAT; i++) {
      const r = checked('no-op', await runPlaybook(), false)
      noops.push(r.seconds)
      const recap = r.events.find((e) => e.kind === 'recap')
      if (recap?.kind === 'recap' && recap.durationMs !== undefined) inRun.push(recap.durationMs / 1000)
    }
    const noop = median(noops)
    const f = (x: number): string => x.toFixed(x >= 10 ? 0 : 2)
    return [
      `## Seed 001 on the lab: PostgreSQL pair, Redis, two Harbor nodes (5 hosts, ${DEFAULT_INVENTORY.split('/').slice(-2).join('/')})`,
      '',
      'Harbor is the lab\'s stand-in installer (see the README). Wall time of `node --import tsx playbooks/ha-pg-replicated.ts -i inventory/lab.yml --json`; the split sums, task by task, the slowest host\'s time of the tasks whose operations installed packages or loaded images (the installer\'s upload and unpack with them).',
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
      `- seed 001 no-op, whole stack: ${f(noop)} s (target at most ${SEED001_NOOP_TARGET_S} s: ${noop <= SEED001_NOOP_TARGET_S ? 'met' : 'MISSED'})`,
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
  const lines = await benchSeed001((l) => void process.stdout.write(`${l}\n`))
  process.stdout.write(`\n${lines.join('\n')}\n`)
}
