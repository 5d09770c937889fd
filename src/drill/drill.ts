// A drill: a fault injected into a converged system on purpose, the recovery an
// operator would make, and a report of what it cost. It runs inside a playbook
// (its steps are plays, so every command is recorded and shown) and owns the
// run's verdict: an expected fault is not a failed run, a check that did not
// hold is, and a safety check that stops the drill is an abort.
//
//   await playbook('dr-x', (pb) => drill(pb, { name: 'x', title: '…' }, async (d) => {
//     await d.steadyState('before', [...])
//     await d.fault('kill db1', async () => { … })
//     await d.step('promote db2', async (s) => { … s.note('timeline 2') })
//     await d.steadyState('after', [...])
//   }))
import { join } from 'node:path'
import { BerthError } from '../errors.ts'
import { writeFileAtomic } from '../write-file-atomic.ts'
import type { Playbook } from '../playbook.ts'
import type { BerthEvent } from '../report/events.ts'
import type { OperationRecord } from '../operations/record.ts'
import { DRILL_EXIT_CODES, renderDrillMarkdown, showValue, type DrillReport, type DrillStep, type Fencing, type Measure, type SteadyStateCheck, type StepTask, type TimelineEntry, type Verdict } from './report.ts'

/** A safety check refused to go on: the drill stops, rolls back what it can, and reports 'aborted'. */
export class DrillAbort extends BerthError {}

export interface SteadyProbe {
  name: string
  /** What must hold, in words, with its bound. */
  tolerance: string
  probe: () => Promise<{ ok: boolean; observed: string }>
}

export interface DrillSpec {
  name: string
  title: string
  /** Where the Markdown and JSON reports go; default ./drill-reports. */
  reportDir?: string | undefined
}

export interface StepContext {
  /** What the step found or did, for the report (one line; the last call wins). */
  note(detail: string): void
}

interface Rollback {
  name: string
  run: () => Promise<string | void>
}

export class Drill {
  readonly started = new Date()
  readonly #t0 = performance.now()
  readonly #steps: DrillStep[] = []
  readonly #rollbacks: Rollback[] = []
  readonly #rolledBack: DrillStep[] = []
  readonly #measures: Measure[] = []
  readonly #fencing: Fencing[] = []
  readonly #timeline: TimelineEntry[] = []
  readonly #before: SteadyStateCheck[] = []
  readonly #after: SteadyStateCheck[] = []
  readonly #topology: { before: Record<string, string>; after: Record<string, string> } = { before: {}, after: {} }
  readonly #failures: string[] = []
  #faultAtMs: number | undefined

  constructor(
    readonly pb: Playbook,
    readonly spec: DrillSpec,
  ) {}

  /** Milliseconds since the drill started. */
  elapsed(): number {
    return performance.now() - this.#t0
  }

  /** Controller epoch ms of a drill time, and back. */
  epochOf(elapsedMs: number): number {
    return this.started.getTime() + elapsedMs
  }
  elapsedOf(epochMs: number): number {
    return epochMs - this.started.getTime()
  }

  get faultAtMs(): number | undefined {
    return this.#faultAtMs
  }

  /** An entry in the timeline (and a line of the run's output). */
  mark(event: string, atMs = this.elapsed()): void {
    this.#timeline.push({ atMs, at: new Date(this.epochOf(atMs)).toISOString(), event })
    this.pb.log(`[drill ${this.spec.name} +${(atMs / 1000).toFixed(2)} s] ${event}`)
  }

  /**
   * The steady state: every probe must hold. Before the fault, one that does
   * not hold aborts the drill (nothing was done yet); after it, the drill fails.
   */
  async steadyState(phase: 'before' | 'after', probes: readonly SteadyProbe[]): Promise<boolean> {
    const list = phase === 'before' ? this.#before : this.#after
    for (const p of probes) {
      let result: { ok: boolean; observed: string }
      try {
        result = await p.probe()
      } catch (e) {
        result = { ok: false, observed: `the probe failed: ${(e as Error).message}` }
      }
      list.push({ name: p.name, tolerance: p.tolerance, observed: result.observed, ok: result.ok, atMs: this.elapsed() })
      this.mark(`steady state ${phase}: ${p.name}: ${result.ok ? 'ok' : 'NOT HELD'} (${result.observed})`)
    }
    const bad = list.filter((c) => !c.ok)
    if (bad.length === 0) return true
    const what = bad.map((c) => `${c.name} (${c.observed}; must be ${c.tolerance})`).join('; ')
    if (phase === 'before') throw new DrillAbort(`the system is not in its steady state before the fault: ${what}; nothing was done`, { hint: 'converge it first (the playbook that built it), then run the drill again' })
    this.fail(`steady state after: ${what}`)
    return false
  }

  /** A step: timed, its plays' tasks and commands recorded. Throws on, as fn throws. */
  async step<T>(name: string, fn: (s: StepContext) => Promise<T>, kind: 'step' | 'fault' = 'step'): Promise<T> {
    const rec = await this.#timed(name, kind, fn)
    this.#steps.push(rec.step)
    if (rec.error) throw rec.error
    return rec.value as T
  }

  /** The fault. Its time is when fn returns (the kill has landed); RTO counts from there. */
  async fault<T>(name: string, fn: (s: StepContext) => Promise<T>): Promise<T> {
    const value = await this.step(name, fn, 'fault')
    this.#faultAtMs = this.elapsed()
    this.mark(`FAULT: ${name}`, this.#faultAtMs)
    return value
  }

  /** Undo for something the drill did, run (last first) when the drill ends without having undone it; the returned function cancels it. */
  onRollback(name: string, run: () => Promise<string | void>): () => void {
    const r: Rollback = { name, run }
    this.#rollbacks.push(r)
    return () => {
      const i = this.#rollbacks.indexOf(r)
      if (i >= 0) this.#rollbacks.splice(i, 1)
    }
  }

  measure(m: Measure): void {
    this.#measures.push(m)
    const shown = showValue(m.value, m.unit)
    this.mark(`measured ${m.name}: ${shown}${m.target ? ` (target ${showValue(m.target.max, m.unit)})` : ''}`)
    if (m.target?.binding && m.value > m.target.max) this.fail(`${m.name} is ${shown}, above ${m.target.max}${m.unit === 'ms' ? ' ms' : ` ${m.unit}`}`)
  }

  fenced(f: Fencing): void {
    this.#fencing.push(f)
    this.mark(`fenced ${f.host}: ${f.how} (${f.evidence})`)
  }

  topology(phase: 'before' | 'after', hosts: Record<string, string>): void {
    Object.assign(this.#topology[phase], hosts)
  }

  /** Something did not hold: the drill goes on (to recover and report) but fails. */
  fail(reason: string): void {
    this.#failures.push(reason)
    this.mark(`FAILED: ${reason}`)
  }

  async #timed<T>(name: string, kind: DrillStep['kind'], fn: (s: StepContext) => Promise<T>): Promise<{ step: DrillStep; value?: T; error?: unknown }> {
    const startMs = this.elapsed()
    const tasks: StepTask[] = []
    let detail: string | undefined
    const stop = this.pb.observe((e: BerthEvent) => {
      if (e.kind !== 'host_result') return
      tasks.push({ host: e.host, task: e.task, status: e.status, summary: e.summary ?? e.error, commands: (e.operations ?? []).flatMap(commandsOf) })
    })
    this.mark(`${kind === 'rollback' ? 'rollback' : 'step'}: ${name}`, startMs)
    const make = (status: DrillStep['status']): DrillStep => ({ name, kind, startMs, at: new Date(this.epochOf(startMs)).toISOString(), durationMs: this.elapsed() - startMs, status, detail, tasks })
    try {
      const value = await fn({ note: (d) => void (detail = d) })
      stop()
      return { step: make('ok'), value }
    } catch (error) {
      stop()
      detail = detail ? `${detail}; ${(error as Error).message}` : (error as Error).message
      return { step: make(error instanceof DrillAbort ? 'aborted' : 'failed'), error }
    }
  }

  /** Run the drill's body, then its rollbacks, write the reports and decide the run's exit code. */
  async run(body: (d: Drill) => Promise<void>): Promise<DrillReport> {
    let verdict: Verdict = 'passed'
    let reason = ''
    try {
      await body(this)
    } catch (e) {
      const error = e as Error
      const message = error instanceof BerthError ? error.describe() : `${error.name}: ${error.message}`
      verdict = e instanceof DrillAbort ? 'aborted' : 'failed'
      reason = message
      this.mark(`${verdict.toUpperCase()}: ${message}`)
    }
    for (const r of [...this.#rollbacks].reverse()) {
      const rec = await this.#timed(r.name, 'rollback', async (s) => {
        const said = await r.run()
        if (said) s.note(said)
      })
      this.#rolledBack.push(rec.step)
      if (rec.error) this.#failures.push(`rollback '${r.name}' failed: ${(rec.error as Error).message}`)
    }
    if (verdict === 'passed' && this.#failures.length > 0) verdict = 'failed'
    if (this.#failures.length > 0) reason = [reason, ...this.#failures].filter(Boolean).join('; ')
    if (verdict === 'passed') reason = 'every check held' + (this.#measures.length ? `; ${this.#measures.map((m) => `${m.name} ${showValue(m.value, m.unit)}`).join(', ')}` : '')
    const finished = new Date()
    const report: DrillReport = {
      drill: this.spec.name,
      title: this.spec.title,
      started: this.started.toISOString(),
      finished: finished.toISOString(),
      durationMs: Math.round(this.elapsed()),
      verdict,
      reason,
      faultAtMs: this.#faultAtMs === undefined ? undefined : Math.round(this.#faultAtMs),
      steadyBefore: this.#before,
      steadyAfter: this.#after,
      steps: this.#steps,
      measures: this.#measures,
      topology: this.#topology,
      fencing: this.#fencing,
      rollbacks: this.#rolledBack,
      timeline: this.#timeline,
    }
    const files = this.#write(report)
    this.pb.log(`drill ${this.spec.name}: ${verdict.toUpperCase()}: ${reason}`)
    if (files) this.pb.log(`drill report: ${files.md} (and ${files.json})`)
    this.pb.decideExit(DRILL_EXIT_CODES[verdict])
    return report
  }

  #write(report: DrillReport): { md: string; json: string } | undefined {
    if (this.pb.check) return undefined
    const dir = this.spec.reportDir ?? 'drill-reports'
    const stamp = this.started.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
    const base = join(dir, `${this.spec.name}-${stamp}`)
    // The report is masked as the run's output is (a command in it may have held a secret), readable by its owner only.
    writeFileAtomic(`${base}.json`, this.pb.redactor.mask(JSON.stringify(report, null, 2) + '\n'), 0o600)
    writeFileAtomic(`${base}.md`, this.pb.redactor.mask(renderDrillMarkdown(report)), 0o600)
    return { md: `${base}.md`, json: `${base}.json` }
  }
}

function commandsOf(op: OperationRecord): string[] {
  switch (op.kind) {
    case 'run':
      return [op.command]
    case 'wait':
      return [`# wait (at most ${op.timeoutMs / 1000} s): ${op.what}`, op.probe]
    case 'guard':
      return [`# only if: ${op.test}`, ...op.then.flatMap(commandsOf)]
    case 'write':
    case 'upload':
      return [`# write ${op.path}`]
    default:
      return []
  }
}

/** Run a drill inside a playbook: see Drill. */
export function drill(pb: Playbook, spec: DrillSpec, body: (d: Drill) => Promise<void>): Promise<DrillReport> {
  return new Drill(pb, spec).run(body)
}
