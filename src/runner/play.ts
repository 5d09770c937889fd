// A play: tasks over hosts in lockstep (Ansible's linear strategy: every host
// finishes task N before task N+1 starts), hosts in parallel up to --forks,
// optionally in serial batches, handlers once at the end of each batch.
import type { Host } from '../host.ts'
import type { Handler, Task, ApplyOutput } from '../resources/resource.ts'
import type { BerthEvent, HostCounts } from '../report/events.ts'
import { emptyCounts, tally, type Outcome } from './host-counts.ts'
import { describeError } from '../report/describe.ts'
import { BerthError } from '../errors.ts'
import { formatDiff } from '../report/diff.ts'
import { recordOf } from '../operations/record.ts'
import { mapLimit } from './limit.ts'
import { isSelected, type TagSelection } from './tags.ts'
import { checkedChanges, hostState, runTask, type CheckedChanges, type HostState, type TaskRunResult } from './tasks.ts'
import { ConfigError } from '../errors.ts'

export interface PlayOptions {
  /** Rolling change: hosts per batch, a number or a percentage ('30%'). */
  serial?: number | string
  /** Stop the whole play (all hosts) after the first failure. */
  anyErrorsFatal?: boolean
  /** Tags added to every task of the play. */
  tags?: readonly string[]
}

export interface RunSettings {
  check: boolean
  diff: boolean
  forks: number
  verbosity: number
  tags: TagSelection
}

/** Shared across the plays of one run: totals for the recap, hosts out of the game. */
export class RunLedger {
  readonly counts = new Map<string, HostCounts>()
  readonly failed = new Set<string>()
  readonly unreachable = new Set<string>()
  /** Hosts a drill takes down on purpose (host -> why): their failures and unreachability do not set the exit code. */
  readonly expectedFaults = new Map<string, string>()
  readonly timings: { play: string; task: string; durationMs: number }[] = []
  count(host: string, outcome: Outcome): void {
    this.counts.set(host, tally(this.counts.get(host) ?? emptyCounts(), outcome))
  }
  readonly #checked = new Map<string, CheckedChanges>()
  /** What --check has promised on a host so far in this run (kept across plays). */
  checked(host: string): CheckedChanges {
    let c = this.#checked.get(host)
    if (!c) this.#checked.set(host, (c = checkedChanges()))
    return c
  }
  /** The host is back (a drill restarted it): it takes part in the plays that follow. */
  readmit(host: string): void {
    this.failed.delete(host)
    this.unreachable.delete(host)
  }
  touch(host: string): void {
    if (!this.counts.has(host)) this.counts.set(host, emptyCounts())
  }
}

/** Per-host results of a play, for the code that follows it in the playbook. */
export class PlayResult {
  constructor(
    readonly name: string,
    readonly results: ReadonlyMap<string, readonly TaskRunResult[]>,
  ) {}
  /** The result of a task (by its displayed name or the name given with .named()) on a host. */
  get(host: string, task: string): TaskRunResult | undefined {
    return this.results.get(host)?.find((r) => r.task === task || r.task.endsWith(` : ${task}`))
  }
  output(host: string, task: string): ApplyOutput | undefined {
    return this.get(host, task)?.output
  }
  changed(host?: string): boolean {
    const rows = host ? (this.results.get(host) ?? []) : [...this.results.values()].flat()
    return rows.some((r) => r.status === 'changed')
  }
  get ok(): boolean {
    return [...this.results.values()].flat().every((r) => r.status !== 'failed' && r.status !== 'unreachable')
  }
}

export interface PlaySpec {
  name: string
  pattern: string
  hosts: readonly Host[]
  tasks: ReadonlyMap<string, readonly Task[]>
  options: PlayOptions
}

export function batchSize(serial: number | string | undefined, total: number): number {
  if (serial === undefined) return total
  if (typeof serial === 'number') {
    if (!Number.isInteger(serial) || serial < 1) throw new ConfigError(`play option 'serial' must be a positive whole number or a percentage, got ${serial}`)
    return serial
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(serial.trim())
  if (!m) throw new ConfigError(`play option 'serial' must be a number or a percentage like '30%', got '${serial}'`)
  return Math.max(1, Math.floor((Number(m[1]) / 100) * total))
}

export async function runPlay(spec: PlaySpec, settings: RunSettings, ledger: RunLedger, emit: (e: BerthEvent) => void): Promise<PlayResult> {
  const results = new Map<string, TaskRunResult[]>()
  const active = spec.hosts.filter((h) => !ledger.failed.has(h.name) && !ledger.unreachable.has(h.name))
  emit({ kind: 'play_start', play: spec.name, pattern: spec.pattern, hosts: active.map((h) => h.name) })
  for (const h of active) {
    ledger.touch(h.name)
    results.set(h.name, [])
  }
  const size = batchSize(spec.options.serial, active.length)
  let stopAll = false
  for (let b = 0; b < active.length && !stopAll; b += size) {
    const batch = active.slice(b, b + size).map((h) => hostState(h, ledger.checked(h.name)))
    stopAll = await runBatch(spec, batch, settings, ledger, emit, results)
  }
  return new PlayResult(spec.name, results)
}

async function runBatch(
  spec: PlaySpec,
  batch: HostState[],
  settings: RunSettings,
  ledger: RunLedger,
  emit: (e: BerthEvent) => void,
  results: Map<string, TaskRunResult[]>,
): Promise<boolean> {
  const selected = new Map<string, Task[]>()
  for (const s of batch) {
    const all = spec.tasks.get(s.host.name) ?? []
    selected.set(s.host.name, all.filter((t) => isSelected([...(spec.options.tags ?? []), ...(t.options.tags ?? [])], settings.tags)))
  }
  const rounds = Math.max(0, ...[...selected.values()].map((t) => t.length))
  const live = () => batch.filter((s) => !s.failed && !s.unreachable)

  // Connect first, in parallel: an unreachable host is reported once, under the
  // first task's banner as Ansible does, and leaves the play.
  const unreachable: [HostState, TaskRunResult][] = []
  await mapLimit(batch, settings.forks, async (s) => {
    const started = performance.now()
    try {
      await s.host.connection.connect()
    } catch (e) {
      s.unreachable = true
      const first = selected.get(s.host.name)?.[0]
      unreachable.push([s, { task: first?.name ?? 'connect', host: s.host.name, status: 'unreachable', error: e as Error, durationMs: performance.now() - started, attempts: 1 }])
    }
  })
  const reportUnreachable = () => {
    for (const [s, r] of unreachable.splice(0)) record(spec, s, settings, ledger, emit, results, r)
  }

  for (let i = 0; i < rounds; i++) {
    const hostsNow = live()
    if (hostsNow.length === 0) break
    // Hosts may have built different task lists; group this round by task name for the headers.
    const byName = new Map<string, HostState[]>()
    for (const s of hostsNow) {
      const t = selected.get(s.host.name)?.[i]
      if (t) byName.set(t.name, [...(byName.get(t.name) ?? []), s])
    }
    if (byName.size === 0) reportUnreachable()
    for (const [name, states] of byName) {
      emit({ kind: 'task_start', play: spec.name, task: name, handler: false })
      reportUnreachable()
      const started = performance.now()
      const first = selected.get((states[0] as HostState).host.name)?.[i] as Task
      const targets = first.options.runOnce ? states.slice(0, 1) : states
      const rows = await mapLimit(targets, settings.forks, (s) => {
        const list = selected.get(s.host.name) as Task[]
        return runTask(s, list[i] as Task, { check: settings.check, ahead: list.slice(i) })
      })
      rows.forEach((r, k) => record(spec, targets[k] as HostState, settings, ledger, emit, results, r))
      if (first.options.runOnce) {
        // As Ansible: a run-once result (and its notifications) counts for every host of the batch.
        for (const s of states.slice(1)) {
          results.get(s.host.name)?.push({ ...(rows[0] as TaskRunResult), host: s.host.name })
          for (const h of (states[0] as HostState).notified) s.notified.add(h)
        }
      }
      ledger.timings.push({ play: spec.name, task: name, durationMs: performance.now() - started })
    }
    if (spec.options.anyErrorsFatal && batch.some((s) => s.failed)) {
      emit({ kind: 'warning', message: `play '${spec.name}': a host failed and any_errors_fatal is set: stopping all hosts` })
      return true
    }
  }

  reportUnreachable() // when every host was unreachable, or the play had no tasks

  // Handlers: once each, by name, in the order the tasks first name them, on the hosts that notified
  // them, in parallel across hosts. A role builds its handler per host (its tasks may differ by
  // host), so one name can stand for several Handler objects: each host runs its own.
  const order: string[] = []
  for (const list of spec.tasks.values()) for (const t of list) for (const h of t.options.notify ?? []) if (!order.includes(h.name)) order.push(h.name)
  for (const name of order) {
    // Each notified host with its own handler of this name.
    const own = new Map<HostState, Handler>()
    for (const s of live()) {
      const h = [...s.notified].find((x) => x.name === name)
      if (h) own.set(s, h)
    }
    if (own.size === 0) continue
    const steps = Math.max(...[...own.values()].map((h) => h.tasks.length))
    for (let i = 0; i < steps; i++) {
      const hostsNow = [...own].filter(([s, h]) => !s.failed && !s.unreachable && h.tasks.length > i)
      if (hostsNow.length === 0) break
      const first = (hostsNow[0] as [HostState, Handler])[1].tasks[i] as Task
      emit({ kind: 'task_start', play: spec.name, task: `${name}${steps > 1 ? ` (${first.name})` : ''}`, handler: true })
      const rows = await mapLimit(hostsNow, settings.forks, ([s, h]) => runTask(s, h.tasks[i] as Task, { check: settings.check, ahead: h.tasks.slice(i) }))
      rows.forEach((r, k) => record(spec, (hostsNow[k] as [HostState, Handler])[0], settings, ledger, emit, results, { ...r, task: name }))
    }
    for (const s of own.keys()) for (const h of [...s.notified]) if (h.name === name) s.notified.delete(h)
  }
  return spec.options.anyErrorsFatal === true && batch.some((s) => s.failed)
}

function record(
  spec: PlaySpec,
  state: HostState,
  settings: RunSettings,
  ledger: RunLedger,
  emit: (e: BerthEvent) => void,
  results: Map<string, TaskRunResult[]>,
  r: TaskRunResult,
): void {
  results.get(state.host.name)?.push(r)
  ledger.count(state.host.name, r.status === 'failed' && !state.failed ? 'ignored' : r.plan?.unseen && r.status === 'changed' ? 'unseen' : r.status)
  if (r.status === 'failed' && state.failed) ledger.failed.add(state.host.name)
  if (r.status === 'unreachable') ledger.unreachable.add(state.host.name)
  const diff = settings.diff && r.plan?.diff ? formatDiff(r.plan.diff) : undefined
  emit({
    kind: 'host_result',
    play: spec.name,
    task: r.task,
    host: state.host.name,
    status: r.status,
    summary: r.plan?.summary,
    diff,
    error: r.error ? describeTaskError(r.error, r.definedAt, settings.verbosity) : undefined,
    durationMs: Math.round(r.durationMs),
    attempts: r.attempts > 1 ? r.attempts : undefined,
    // What ran (or, in --check, would run): the runbook is written from these.
    operations: r.plan?.changed && r.plan.operations ? r.plan.operations.map(recordOf) : undefined,
    unseen: r.plan?.unseen ? true : undefined,
  })
}

/** The error paragraph, led by where the task was declared when the error itself names no place. */
function describeTaskError(error: Error, definedAt: string | undefined, verbosity: number): string {
  const text = describeError(error, verbosity)
  const placed = error instanceof BerthError && error.where !== undefined
  return definedAt && !placed ? `${definedAt}: ${text}` : text
}
