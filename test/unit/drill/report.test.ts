// A drill's report as Markdown: the verdict in the title, measures against their
// targets, steady-state checks, steps with the commands they ran, fencing,
// rollbacks and the timeline; and the exit codes a verdict sets.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DRILL_EXIT_CODES, formatMeasure, renderDrillMarkdown, type DrillReport, type Measure } from '../../../src/drill/report.ts'

const report = (over: Partial<DrillReport> = {}): DrillReport => ({
  drill: 'dr-pg-switchover',
  title: 'Switch the PostgreSQL primary over to the standby and back, under a writer',
  started: '2026-12-04T13:14:00.000Z',
  finished: '2026-12-04T13:15:30.500Z',
  durationMs: 90_500,
  verdict: 'failed',
  reason: 'steady state after: no acknowledged row lost (2 of 120; must be 0 rows)',
  faultAtMs: 12_340,
  steadyBefore: [
    { name: 'db1 accepts writes', tolerance: 'not in recovery', observed: 'primary, timeline 1, 0/3000060', ok: true, atMs: 500 },
    { name: 'db2 streams from db1', tolerance: "pg_stat_replication state 'streaming'", observed: 'standby, timeline 1, 0/3000060', ok: true, atMs: 600 },
  ],
  steadyAfter: [
    { name: 'db2 is the primary', tolerance: 'not in recovery, on a later timeline than before', observed: 'primary, timeline 2, 0/5000060', ok: true, atMs: 80_000 },
    { name: 'no acknowledged row lost', tolerance: '0 rows', observed: '2 of 120', ok: false, atMs: 80_100 },
  ],
  steps: [
    {
      name: 'stop the writer',
      kind: 'step',
      startMs: 1_000,
      at: '2026-12-04T13:14:01.000Z',
      durationMs: 250,
      status: 'ok',
      detail: 'writer stopped | 120 rows acknowledged',
      tasks: [
        { host: 'db1', task: 'postgres : checkpoint', status: 'changed', summary: 'CHECKPOINT', commands: ["runuser -u postgres -- psql -XAtq -c 'CHECKPOINT'", 'sync'] },
        { host: 'db2', task: 'postgres : read topology', status: 'ok', commands: [] },
      ],
    },
    {
      name: 'promote db2',
      kind: 'fault',
      startMs: 12_340,
      at: '2026-12-04T13:14:12.340Z',
      durationMs: 1_234,
      status: 'ok',
      tasks: [],
    },
  ],
  measures: [
    { name: 'write downtime', value: 750, unit: 'ms', how: 'writer log: last ok before the fault to the first ok after', target: { max: 5_000, binding: true } },
    { name: 'rows lost', value: 2, unit: 'rows', how: 'acknowledged | found after', target: { max: 0, binding: false } },
  ],
  topology: {
    before: { db1: 'primary, timeline 1, 0/3000060', db2: 'standby, timeline 1, 0/3000060' },
    after: { db1: 'standby, timeline 2, 0/5000060', db2: 'primary, timeline 2, 0/5000060' },
  },
  fencing: [{ host: 'db1', how: 'stopped with systemctl stop postgresql@15-main', evidence: 'pg_controldata: shut down; fence file present' }],
  rollbacks: [
    {
      name: 'restart the writer',
      kind: 'rollback',
      startMs: 85_000,
      at: '2026-12-04T13:15:25.000Z',
      durationMs: 100,
      status: 'ok',
      tasks: [],
    },
  ],
  timeline: [
    { atMs: 0, at: '2026-12-04T13:14:00.000Z', event: 'drill started' },
    { atMs: 12_340, at: '2026-12-04T13:14:12.340Z', event: 'fault: promote db2' },
  ],
  ...over,
})

const md = suite('renderDrillMarkdown')
const lines = (r: DrillReport): string[] => renderDrillMarkdown(r).split('\n')

const verdicts: [DrillReport['verdict'], string][] = [
  ['passed', '# Drill dr-pg-switchover: PASSED'],
  ['failed', '# Drill dr-pg-switchover: FAILED'],
  ['aborted', '# Drill dr-pg-switchover: ABORTED'],
]
for (const [verdict, title] of verdicts)
  md(`the title line has the verdict upper-cased: ${verdict}`, () => {
    assert.is(lines(report({ verdict }))[0], title)
  })

md('the header says when, how long, the fault time and the verdict with its reason', () => {
  const l = lines(report())
  assert.ok(l.includes('Switch the PostgreSQL primary over to the standby and back, under a writer'))
  assert.ok(l.includes('- started 2026-12-04T13:14:00.000Z, finished 2026-12-04T13:15:30.500Z (90.50 s)'))
  assert.ok(l.includes('- fault injected at +12.34 s'))
  assert.ok(l.includes('- verdict: **failed**: steady state after: no acknowledged row lost (2 of 120; must be 0 rows)'))
})

md('no fault injected: no fault line', () => {
  assert.not.ok(renderDrillMarkdown(report({ faultAtMs: undefined })).includes('fault injected'))
})

md('measures: ms shown in seconds, a binding target met, a non-binding one missed, a | in a cell escaped', () => {
  const l = lines(report())
  assert.ok(l.includes('| write downtime | 0.75 s|5.00 s|met | writer log: last ok before the fault to the first ok after |'), l.join('\n'))
  assert.ok(l.includes('| rows lost | 2 rows|0 rows (target)|missed | acknowledged \\| found after |'), l.join('\n'))
})

md('steady-state checks before and after: a failing one shows **FAILED**, a holding one ok', () => {
  const text = renderDrillMarkdown(report())
  const before = text.slice(text.indexOf('## Steady state before'))
  const after = text.slice(text.indexOf('## Steady state after'))
  assert.ok(before.includes("| db2 streams from db1 | pg_stat_replication state 'streaming' | standby, timeline 1, 0/3000060 | ok |"))
  assert.ok(after.includes('| no acknowledged row lost | 0 rows | 2 of 120 | **FAILED** |'))
  assert.ok(after.includes('| db2 is the primary | not in recovery, on a later timeline than before | primary, timeline 2, 0/5000060 | ok |'))
  assert.is(text.split('**FAILED**').length - 1, 1, 'only the failing check')
})

md('steps: when each started, how long it took, the fault step marked (fault), a | in the detail escaped', () => {
  const l = lines(report())
  assert.ok(l.includes('| +1.00 s | stop the writer | 0.25 s | ok | writer stopped \\| 120 rows acknowledged |'), l.join('\n'))
  assert.ok(l.includes('| +12.34 s | promote db2 (fault) | 1.23 s | ok |  |'), l.join('\n'))
})

md('the commands a task ran are in a sh block under the step name; a task that ran none is left out', () => {
  const text = renderDrillMarkdown(report())
  assert.ok(
    text.includes(["### stop the writer", '', 'db1: postgres : checkpoint (changed: CHECKPOINT)', '', '```sh', "runuser -u postgres -- psql -XAtq -c 'CHECKPOINT'", 'sync', '```'].join('\n')),
    text,
  )
  assert.not.ok(text.includes('db2: postgres : read topology'))
  assert.not.ok(text.includes('### promote db2'), 'a step whose tasks ran no commands has no section')
})

md('topology: each host before and after', () => {
  const l = lines(report())
  assert.ok(l.includes('| db1 | primary, timeline 1, 0/3000060 | standby, timeline 2, 0/5000060 |'))
  assert.ok(l.includes('| db2 | standby, timeline 1, 0/3000060 | primary, timeline 2, 0/5000060 |'))
})

md('a host known only after (or only before) has an empty cell for the other', () => {
  const l = lines(report({ topology: { before: { db1: 'primary, timeline 1' }, after: { db3: 'standby, timeline 1' } } }))
  assert.ok(l.includes('| db1 | primary, timeline 1 |  |'))
  assert.ok(l.includes('| db3 |  | standby, timeline 1 |'))
})

md('fencing, rollbacks and the timeline each have their section', () => {
  const text = renderDrillMarkdown(report())
  assert.ok(text.includes('## Fencing\n\n| host | how | evidence |\n|---|---|---|\n| db1 | stopped with systemctl stop postgresql@15-main | pg_controldata: shut down; fence file present |'))
  assert.ok(text.includes('## Rollbacks'))
  assert.ok(text.includes('| +85.00 s | restart the writer | 0.10 s | ok |  |'))
  assert.ok(text.includes('## Timeline\n\n```\n  +0.00 s  2026-12-04T13:14:00.000Z  drill started\n +12.34 s  2026-12-04T13:14:12.340Z  fault: promote db2\n```'), text)
})

md('the sections come in the order a reader follows the drill', () => {
  const text = renderDrillMarkdown(report())
  const order = ['## Measures', '## Steady state before', '## Topology', '## Steps', '## Fencing', '## Rollbacks', '## Steady state after', '## Timeline'].map((h) => text.indexOf(h))
  assert.ok(order.every((i) => i >= 0), String(order))
  assert.equal([...order].sort((a, b) => a - b), order)
})

md('empty lists leave their sections out', () => {
  const text = renderDrillMarkdown(
    report({ measures: [], steadyBefore: [], steadyAfter: [], steps: [], fencing: [], rollbacks: [], timeline: [], topology: { before: {}, after: {} } }),
  )
  assert.not.match(text, /^## /m)
})

md('a newline in a cell does not break the table row', () => {
  const l = lines(report({ fencing: [{ host: 'db1', how: 'power off', evidence: 'ssh: connection refused\nguard file present' }] }))
  assert.ok(l.includes('| db1 | power off | ssh: connection refused guard file present |'))
})

md.run()

const measure = suite('formatMeasure')

const measures: [string, Measure, string][] = [
  ['ms in seconds, a binding target met', { name: 'rto', value: 750, unit: 'ms', how: '', target: { max: 5_000, binding: true } }, '0.75 s|5.00 s|met'],
  ['ms at its target exactly is met', { name: 'rto', value: 5_000, unit: 'ms', how: '', target: { max: 5_000, binding: true } }, '5.00 s|5.00 s|met'],
  ['ms over a non-binding target: missed, the target marked (target)', { name: 'rto', value: 6_250, unit: 'ms', how: '', target: { max: 5_000, binding: false } }, '6.25 s|5.00 s (target)|missed'],
  ['rows lost, none allowed, none lost', { name: 'rpo', value: 0, unit: 'rows', how: '', target: { max: 0, binding: true } }, '0 rows|0 rows|met'],
  ['rows lost over the target', { name: 'rpo', value: 3, unit: 'rows', how: '', target: { max: 0, binding: true } }, '3 rows|0 rows|missed'],
  ['bytes with a non-binding target', { name: 'lag', value: 1_048_576, unit: 'bytes', how: '', target: { max: 16_777_216, binding: false } }, '1048576 bytes|16777216 bytes (target)|met'],
  ['bytes without a target: the target and status cells are empty', { name: 'lag', value: 8_192, unit: 'bytes', how: '' }, '8192 bytes||'],
]
for (const [name, m, expected] of measures)
  measure(name, () => {
    assert.is(formatMeasure(m), expected)
  })

measure.run()

const exits = suite('DRILL_EXIT_CODES')

exits('passed 0, failed 6, aborted 7: beside ansible-playbook 0-5', () => {
  assert.equal({ ...DRILL_EXIT_CODES }, { passed: 0, failed: 6, aborted: 7 })
})

exits.run()
