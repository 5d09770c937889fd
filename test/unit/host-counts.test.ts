// The PLAY RECAP counters against Ansible's rule (strategy/__init__.py,
// _process_pending_results): ok counts every success, changed ones included;
// an ignored failure is ok + ignored; failed, unreachable, skipped stand alone.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { emptyCounts, tally, type Outcome } from '../../src/runner/host-counts.ts'
import type { HostCounts } from '../../src/report/events.ts'

const run = (outcomes: Outcome[]): HostCounts => outcomes.reduce(tally, emptyCounts())
const times = (n: number, o: Outcome): Outcome[] => Array.from({ length: n }, () => o)

const cases: [string, Outcome[], Partial<HostCounts>][] = [
  ['a first run of 5 tasks that all change: ok=5 changed=5', times(5, 'changed'), { ok: 5, changed: 5 }],
  ['the issue\'s run: 9 ok + 16 changed is ok=25 changed=16', [...times(9, 'ok'), ...times(16, 'changed')], { ok: 25, changed: 16 }],
  ['a second run: ok=5 changed=0', times(5, 'ok'), { ok: 5 }],
  ['an ignored failure is ok and ignored, not failed', ['ok', 'ignored'], { ok: 2, ignored: 1 }],
  ['a failure is failed only', ['changed', 'failed'], { ok: 1, changed: 1, failed: 1 }],
  ['unreachable is not ok', ['unreachable'], { unreachable: 1 }],
  ['skipped is not ok', ['ok', 'skipped', 'skipped'], { ok: 1, skipped: 2 }],
]

for (const [name, outcomes, expected] of cases)
  test(name, () => {
    assert.equal(run(outcomes), { ...emptyCounts(), ...expected })
  })

test('tally returns new counts and leaves its input alone', () => {
  const before = emptyCounts()
  const after = tally(before, 'changed')
  assert.equal(before, emptyCounts())
  assert.is.not(after, before)
})

test.run()
