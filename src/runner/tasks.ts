// Running tasks on one host: check, then apply if changed (never in check mode).
//
// Facts are prefetched: when a host has no valid facts, the facts of the tasks
// still ahead of it are gathered in ONE exec. A no-op run therefore costs one round
// trip per host, and after any change the prefetched facts are dropped, so no plan
// is ever computed against state that an earlier task has just changed.
// After a change the look-ahead shrinks to the next task and grows fourfold each
// time a window passes without change, so a first run (everything changes) does not
// re-read the whole remaining list after every task.
import type { Host } from '../host.ts'
import { FactMap } from '../facts/fact.ts'
import { gather } from '../facts/gather.ts'
import { BerthError, UnreachableError } from '../errors.ts'
import { execute } from '../operations/execute.ts'
import type { ApplyOutput, Handler, Plan, Task } from '../resources/resource.ts'
import type { Status } from '../report/events.ts'

export interface TaskRunResult {
  task: string
  /** `file:line` where the task was declared. */
  definedAt?: string | undefined
  host: string
  status: Status
  plan?: Plan | undefined
  /** What apply produced (a command's stdout, say). */
  output?: ApplyOutput | undefined
  error?: Error | undefined
  durationMs: number
  attempts: number
}

export interface HostState {
  readonly host: Host
  /** Facts gathered ahead for the remaining tasks; undefined once something changed. */
  facts: FactMap | undefined
  readonly notified: Set<Handler>
  failed: boolean
  unreachable: boolean
  /** How many tasks ahead the next gather reads. */
  window: number
  /** What --check has promised on this host so far in the run (shared by its plays). */
  readonly checked: CheckedChanges
}

/**
 * --check only, per host for the whole run: facts as the changes reported so far
 * would leave them (plans' `predicts`: a directory made, a file written), used
 * instead of the host's own; and how many changes were reported that do not
 * say what they leave (a package installed): after one, the host's state may
 * differ from what the probes see, so a task that cannot be planned is "not
 * seen yet", not failed.
 */
export interface CheckedChanges {
  readonly predicted: FactMap
  /** Changes reported without saying what they leave behind (no `predicts`). */
  unforeseen: number
}

export const checkedChanges = (): CheckedChanges => ({ predicted: new FactMap(), unforeseen: 0 })

export const hostState = (host: Host, checked: CheckedChanges = checkedChanges()): HostState => ({
  host,
  facts: undefined,
  notified: new Set(),
  failed: false,
  unreachable: false,
  window: Infinity,
  checked,
})

export interface StepOptions {
  check: boolean
  /** Tasks still ahead on this host (this one first), for prefetching their facts. */
  ahead: readonly Task[]
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Run one task on one host. Never throws: the outcome is in the result. */
export async function runTask(state: HostState, task: Task, opts: StepOptions): Promise<TaskRunResult> {
  const { host } = state
  const started = performance.now()
  const result = (status: Status, extra: Partial<TaskRunResult> = {}): TaskRunResult => ({
    task: task.name,
    host: host.name,
    status,
    durationMs: performance.now() - started,
    attempts: 1,
    definedAt: task.definedAt,
    ...extra,
  })
  if (task.options.when && !task.options.when(host)) return result('skipped', { plan: { changed: false, summary: 'condition is false' } })

  const notifyHandlers = (): void => {
    for (const h of task.options.notify ?? []) state.notified.add(h)
  }
  /** The host changed (or waited): facts read before are stale, and the next read looks one task ahead. */
  const factsStale = (): void => {
    state.facts = undefined
    state.window = 1
  }
  /** --check: a change all the same, whose state (and so operations) this check cannot see yet. */
  const unseen = (why: string): TaskRunResult => {
    state.checked.unforeseen++
    notifyHandlers()
    return result('changed', { plan: { changed: true, summary: `not seen yet: ${why} (it depends on earlier changes this --check did not make)`, unseen: true } })
  }
  // A wait for what earlier unmade changes would start cannot succeed in --check: say so rather than wait it out.
  if (opts.check && state.checked.unforeseen > 0 && task.resource.waits) return unseen(`would wait: ${task.name}`)

  const retries = task.options.retries ?? 0
  let lastError: Error | undefined
  // The plan of the last attempt, when planning got that far: a failed task's record says what it tried.
  let lastPlan: Plan | undefined
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    try {
      lastPlan = undefined
      const plan = await planTask(state, task, opts.ahead, opts.check)
      lastPlan = plan
      if (plan.skipped) return result('skipped', { plan, attempts: attempt })
      if (!plan.changed) return result('ok', { plan, attempts: attempt })
      if (task.options.readOnly) {
        const output = await applyPlan(host, task, plan)
        // After a wait the host is not what the facts read before it said: read again.
        if (plan.operations?.some((o) => o.kind === 'wait')) factsStale()
        return result('ok', { plan: output?.summary ? { ...plan, summary: output.summary } : plan, output, attempts: attempt })
      }
      if (opts.check && !task.options.checkModeRuns) {
        // Later tasks plan against what this change would leave (a directory made, say).
        const predictions = plan.predicts ?? []
        for (const { fact, value } of predictions) {
          state.checked.predicted.set(fact, value)
          state.facts?.set(fact, value)
        }
        // A change that says what it leaves (a file written, a directory made) is foreseen; any other
        // (a package installed, a command run) may leave what no probe can see before it is made.
        if (predictions.length === 0) state.checked.unforeseen++
        // As Ansible: a change in --check notifies its handlers, which then report what they would do.
        notifyHandlers()
        return result('changed', { plan, attempts: attempt })
      }
      factsStale()
      const output = await applyPlan(host, task, plan)
      notifyHandlers()
      return result('changed', { plan, output, attempts: attempt })
    } catch (e) {
      state.facts = undefined
      const error = e instanceof Error ? e : new Error(String(e))
      if (error instanceof UnreachableError) {
        state.unreachable = true
        return result('unreachable', { error, attempts: attempt })
      }
      // In --check after an earlier change on this host that was not made: what the task
      // reads may not exist yet (a package's files). It will change; what to, is not seen yet.
      if (opts.check && state.checked.unforeseen > 0 && error instanceof BerthError && !task.options.ignoreErrors) {
        return unseen(`${host.redactor.mask(error.message.split('\n')[0] ?? '')}`)
      }
      lastError = error
      if (attempt <= retries) await sleep(task.options.delayMs ?? 1000)
    }
  }
  if (!task.options.ignoreErrors) state.failed = true
  return result('failed', { error: lastError, plan: lastPlan, attempts: retries + 1 })
}

/** A plan's operations through the executor; a resource not moved to operations yet, through its apply(). */
export async function applyPlan(host: Host, task: Task, plan: Plan): Promise<ApplyOutput | undefined> {
  if (plan.operations) return execute(host, plan.operations)
  if (!task.resource.apply) throw new BerthError(`${task.name}: its plan has neither operations nor an apply()`, { hint: 'a bug in the resource' })
  return (await task.resource.apply(host, plan)) ?? undefined
}

async function planTask(state: HostState, task: Task, ahead: readonly Task[], check: boolean): Promise<Plan> {
  const { resource } = task
  if (resource.check) return resource.check(state.host)
  const needed = resource.facts()
  if (!state.facts || needed.some((f) => !state.facts?.has(f))) {
    if (state.facts) state.window *= 4 // the last window held no change: read further ahead
    const eligible = ahead.slice(0, state.window).filter((t) => !t.resource.check && (!t.options.when || t.options.when(state.host)))
    const seed = check ? state.checked.predicted.clone() : undefined
    state.facts = await gather(state.host, [...needed, ...eligible.flatMap((t) => t.resource.facts())], seed)
  }
  return resource.plan(state.facts)
}

/** Run tasks in order on one host, stopping at the first failure. */
export async function runTasksOnHost(host: Host, tasks: readonly Task[], check: boolean): Promise<TaskRunResult[]> {
  const state = hostState(host)
  const results: TaskRunResult[] = []
  for (let i = 0; i < tasks.length; i++) {
    const r = await runTask(state, tasks[i] as Task, { check, ahead: tasks.slice(i) })
    results.push(r)
    if (state.failed || state.unreachable) break
  }
  if (!state.failed && !state.unreachable) {
    for (const h of state.notified)
      for (let i = 0; i < h.tasks.length; i++) results.push(await runTask(state, h.tasks[i] as Task, { check, ahead: h.tasks.slice(i) }))
  }
  return results
}

/** What applying these tasks would change on this host. Changes nothing. */
export const checkTasks = (host: Host, tasks: readonly Task[]) => runTasksOnHost(host, tasks, true)
/** Converge this host: apply what differs, then run notified handlers. */
export const applyTasks = (host: Host, tasks: readonly Task[]) => runTasksOnHost(host, tasks, false)
