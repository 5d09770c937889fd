// What a drill reports, as data (written as JSON) and as Markdown for people.
// The shape follows what a drill worth keeping records (Chaos Toolkit's journal:
// steady state before and after with tolerances, the method's steps, rollbacks,
// a status), plus what a database failover needs: fault time, RTO, RPO in rows
// and bytes, timelines and LSNs before and after, and how each host was fenced.

/** passed: every check held and every target was met; failed: it ran but something did not hold; aborted: a safety check stopped it (nothing destroyed). */
export type Verdict = 'passed' | 'failed' | 'aborted'

/** Exit codes of a drill run (README "Drills"): beside Ansible's 0-5. */
export const DRILL_EXIT_CODES: Readonly<Record<Verdict, number>> = { passed: 0, failed: 6, aborted: 7 }

export interface SteadyStateCheck {
  name: string
  /** What must hold, with its tolerance ("0 rows missing", "lag <= 1 MiB"). */
  tolerance: string
  observed: string
  ok: boolean
  /** Milliseconds since the drill started. */
  atMs: number
}

export type StepStatus = 'ok' | 'failed' | 'aborted'

export interface StepTask {
  host: string
  task: string
  status: string
  summary?: string | undefined
  /** The commands the task ran, masked. */
  commands: string[]
}

export interface DrillStep {
  name: string
  kind: 'step' | 'fault' | 'rollback'
  /** Milliseconds since the drill started, and the wall time. */
  startMs: number
  at: string
  durationMs: number
  status: StepStatus
  /** What the step found or did, one line. */
  detail?: string | undefined
  /** The tasks its plays ran, in order. */
  tasks: StepTask[]
}

export interface Measure {
  name: string
  value: number
  unit: 'ms' | 'rows' | 'bytes'
  /** How it was measured, in one line (from which log, between which events). */
  how: string
  /** A target to compare with; a drill's verdict does not depend on it unless `binding`. */
  target?: { max: number; binding: boolean } | undefined
}

export interface Fencing {
  host: string
  /** What was done ("power off through the inventory's fence command"). */
  how: string
  /** What shows it holds ("ssh: connection refused; guard file present"). */
  evidence: string
}

export interface TimelineEntry {
  atMs: number
  at: string
  event: string
}

export interface DrillReport {
  drill: string
  /** The drill's one-line description. */
  title: string
  started: string
  finished: string
  durationMs: number
  verdict: Verdict
  /** Why, in one paragraph: the first failure, the abort reason, or what passed. */
  reason: string
  /** When the fault was injected (ms since start), if it was. */
  faultAtMs?: number | undefined
  steadyBefore: SteadyStateCheck[]
  steadyAfter: SteadyStateCheck[]
  steps: DrillStep[]
  measures: Measure[]
  /** Per host, what its database (or service) was before and after: role, timeline, LSN. */
  topology: { before: Record<string, string>; after: Record<string, string> }
  fencing: Fencing[]
  rollbacks: DrillStep[]
  timeline: TimelineEntry[]
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
const at = (ms: number | undefined): string => (ms === undefined ? '' : `+${seconds(ms)}`)
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** A measure's value (or bound) as people read it: seconds for times, else the number and its unit. */
export const showValue = (value: number, unit: Measure['unit']): string => (unit === 'ms' ? seconds(value) : `${value} ${unit}`)

export function formatMeasure(m: Measure): string {
  const value = showValue(m.value, m.unit)
  const target = m.target ? `${showValue(m.target.max, m.unit)}${m.target.binding ? '' : ' (target)'}` : ''
  return `${value}|${target}|${m.target ? (m.value <= m.target.max ? 'met' : 'missed') : ''}`
}

/** Pure: the report as Markdown. */
export function renderDrillMarkdown(r: DrillReport): string {
  const out: string[] = []
  out.push(`# Drill ${r.drill}: ${r.verdict.toUpperCase()}`, '', r.title, '')
  out.push(`- started ${r.started}, finished ${r.finished} (${seconds(r.durationMs)})`)
  if (r.faultAtMs !== undefined) out.push(`- fault injected at ${at(r.faultAtMs)}`)
  out.push(`- verdict: **${r.verdict}**: ${r.reason}`, '')
  if (r.measures.length) {
    out.push('## Measures', '', '| measure | value | target | | how |', '|---|---|---|---|---|')
    for (const m of r.measures) out.push(`| ${cell(m.name)} | ${formatMeasure(m)} | ${cell(m.how)} |`)
    out.push('')
  }
  const checks = (title: string, list: SteadyStateCheck[]) => {
    if (!list.length) return
    out.push(`## ${title}`, '', '| check | tolerance | observed | |', '|---|---|---|---|')
    for (const c of list) out.push(`| ${cell(c.name)} | ${cell(c.tolerance)} | ${cell(c.observed)} | ${c.ok ? 'ok' : '**FAILED**'} |`)
    out.push('')
  }
  checks('Steady state before', r.steadyBefore)
  const hosts = [...new Set([...Object.keys(r.topology.before), ...Object.keys(r.topology.after)])]
  if (hosts.length) {
    out.push('## Topology', '', '| host | before | after |', '|---|---|---|')
    for (const h of hosts) out.push(`| ${cell(h)} | ${cell(r.topology.before[h] ?? '')} | ${cell(r.topology.after[h] ?? '')} |`)
    out.push('')
  }
  const steps = (title: string, list: DrillStep[]) => {
    if (!list.length) return
    out.push(`## ${title}`, '', '| at | step | took | status | detail |', '|---|---|---|---|---|')
    for (const s of list) out.push(`| ${at(s.startMs)} | ${cell(s.name)}${s.kind === 'fault' ? ' (fault)' : ''} | ${seconds(s.durationMs)} | ${s.status} | ${cell(s.detail ?? '')} |`)
    out.push('')
    for (const s of list.filter((x) => x.tasks.some((t) => t.commands.length > 0))) {
      out.push(`### ${s.name}`, '')
      for (const t of s.tasks.filter((x) => x.commands.length > 0)) {
        out.push(`${t.host}: ${t.task} (${t.status}${t.summary ? `: ${t.summary}` : ''})`, '', '```sh', ...t.commands, '```', '')
      }
    }
  }
  steps('Steps', r.steps)
  if (r.fencing.length) {
    out.push('## Fencing', '', '| host | how | evidence |', '|---|---|---|')
    for (const f of r.fencing) out.push(`| ${cell(f.host)} | ${cell(f.how)} | ${cell(f.evidence)} |`)
    out.push('')
  }
  steps('Rollbacks', r.rollbacks)
  checks('Steady state after', r.steadyAfter)
  if (r.timeline.length) {
    out.push('## Timeline', '', '```')
    for (const t of r.timeline) out.push(`${at(t.atMs).padStart(9)}  ${t.at}  ${t.event}`)
    out.push('```', '')
  }
  return out.join('\n')
}
