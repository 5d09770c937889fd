// Harbor's client loads during a database failover: the repository an image is
// pushed to under new tags, and the longest time without a successful attempt.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { longestGap, repositoryOf } from '../../../playbooks/drills/harbor-load.ts'

const ok = (atMs: number) => ({ atMs, ok: true, id: String(atMs), detail: '' })
const fail = (atMs: number) => ({ atMs, ok: false, id: String(atMs), detail: 'error' })

test('the repository is the reference without its tag (a registry port is not a tag)', () => {
  assert.is(repositoryOf('10.77.0.21/library/app:1'), '10.77.0.21/library/app')
  assert.is(repositoryOf('registry:5000/library/app'), 'registry:5000/library/app')
  assert.is(repositoryOf('registry:5000/library/app:v2'), 'registry:5000/library/app')
})

test('the longest gap counts from the last success before the fault; failures in between are counted', () => {
  const samples = [ok(100), ok(900), fail(1500), fail(3000), ok(4000), ok(4200), fail(5000), ok(5600)]
  assert.equal(longestGap(samples, 1000), { gapMs: 3100, from: 900, to: 4000, failed: 3 })
})

test('no failure: the gap is the slowest interval after the fault', () => {
  assert.equal(longestGap([ok(0), ok(500), ok(2500), ok(2700)], 1000), { gapMs: 2000, from: 500, to: 2500, failed: 0 })
})

test('still failing at the end: the gap runs to the last attempt, with no end', () => {
  assert.equal(longestGap([ok(0), fail(2000), fail(9000)], 1000), { gapMs: 9000, from: 0, to: undefined, failed: 2 })
})

test.run()
