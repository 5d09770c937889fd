// A drill's background load: the log a host writes (one line per attempt), the
// outage read off it, the bounded wait a drill polls with, and the loop text.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { attemptLoop, outageAfter, parseLoadLog, type LoadSample } from '../../../src/drill/load.ts'
import { waitUntil } from '../../../src/wait-until.ts'
import { Secret } from '../../../src/secrets.ts'
import { sh } from '../../../src/shell.ts'

const parse = suite('parseLoadLog')

const LOG = [
  '1764854078100 ok 1 INSERT 0 1',
  'sh: 1: psql: not found',
  '1764854078200 fail 2 psql: error: connection to server at "10.77.0.11", port 5432 failed: Connection refused',
  '1764854078300 ok 3 ',
  '',
].join('\n')

parse('samples are read with id and detail; a line that is no sample (a shell complaint) is skipped', () => {
  assert.equal(parseLoadLog(LOG), [
    { atMs: 1764854078100, ok: true, id: '1', detail: 'INSERT 0 1' },
    { atMs: 1764854078200, ok: false, id: '2', detail: 'psql: error: connection to server at "10.77.0.11", port 5432 failed: Connection refused' },
    { atMs: 1764854078300, ok: true, id: '3', detail: '' },
  ])
})

const offsets: [string, number, number[]][] = [
  ['no offset: the host clock is the controller clock', 0, [1764854078100, 1764854078200, 1764854078300]],
  ['host clock ahead of the controller by 100 ms: 100 ms earlier on the controller', 100, [1764854078000, 1764854078100, 1764854078200]],
  ['host clock behind by 50 ms: 50 ms later on the controller', -50, [1764854078150, 1764854078250, 1764854078350]],
]
for (const [name, offset, times] of offsets)
  parse(`the offset (host minus controller) is subtracted: ${name}`, () => {
    assert.equal(parseLoadLog(LOG, offset).map((s) => s.atMs), times)
  })

const notSamples: [string, string][] = [
  ['an empty log', ''],
  ['a shell complaint only', 'sh: 3: cannot create /run/berth-load/x.log: Permission denied\n'],
  ['a time that is not 13 digits (seconds, not milliseconds)', '1764854078 ok 1 INSERT 0 1\n'],
  ['a status that is neither ok nor fail', '1764854078100 maybe 1 x\n'],
  ['no id', '1764854078100 ok\n'],
]
for (const [name, text] of notSamples)
  parse(`no samples: ${name}`, () => {
    assert.equal(parseLoadLog(text), [])
  })

parse.run()

const outage = suite('outageAfter')

const s = (atMs: number, ok: boolean): LoadSample => ({ atMs, ok, id: String(atMs), detail: '' })
// ok, ok, fail (before the fault), ok, fail, fail, ok (recovered), fail (a later blip)
const RUN = [s(1000, true), s(1100, true), s(1200, false), s(1300, true), s(1400, false), s(1500, false), s(1600, true), s(1700, false)]

const outages: [string, LoadSample[], number, ReturnType<typeof outageAfter>][] = [
  [
    'the first failure at or after fromMs, the last ok before it, the first ok after it, the failures between (an earlier failure and a later blip ignored)',
    RUN,
    1250,
    { lastOkBefore: 1300, firstFail: 1400, firstOkAfter: 1600, failures: 2 },
  ],
  ['a failure exactly at fromMs starts the outage', RUN, 1400, { lastOkBefore: 1300, firstFail: 1400, firstOkAfter: 1600, failures: 2 }],
  ['samples out of order are sorted first', [...RUN].reverse(), 1250, { lastOkBefore: 1300, firstFail: 1400, firstOkAfter: 1600, failures: 2 }],
  ['a failure before fromMs is not the outage: the next one is', RUN, 1000, { lastOkBefore: 1100, firstFail: 1200, firstOkAfter: 1300, failures: 1 }],
  ['never recovered: no first ok after, every failure counted', [s(1000, true), s(1100, false), s(1200, false)], 0, { lastOkBefore: 1000, firstFail: 1100, firstOkAfter: undefined, failures: 2 }],
  ['failing from the first sample: no last ok before', [s(1000, false), s(1100, true)], 0, { lastOkBefore: undefined, firstFail: 1000, firstOkAfter: 1100, failures: 1 }],
  ['no failure after fromMs: no outage', RUN, 1750, undefined],
  ['only successes: no outage', [s(1000, true), s(1100, true)], 0, undefined],
  ['no samples: no outage', [], 0, undefined],
]
for (const [name, samples, fromMs, expected] of outages)
  outage(name, () => {
    assert.equal(outageAfter(samples, fromMs), expected)
  })

outage('the samples given are not reordered in place', () => {
  const samples = [...RUN].reverse()
  const before = samples.map((x) => x.atMs)
  outageAfter(samples, 1250)
  assert.equal(samples.map((x) => x.atMs), before)
})

outage.run()

const wait = suite('waitUntil')

wait('a probe that becomes done: ok, with the attempts it took and its last value', async () => {
  let n = 0
  const r = await waitUntil(async () => ++n, (v) => v >= 3, { timeoutMs: 10_000, intervalMs: 1 })
  assert.is(r.ok, true)
  assert.is(r.attempts, 3)
  assert.is(r.value, 3)
  assert.ok(r.waitedMs >= 0)
  assert.not.ok('error' in r, 'no error when the probe answered')
})

wait('done at the first answer: one attempt', async () => {
  const r = await waitUntil(async () => 'streaming', (v) => v === 'streaming', { timeoutMs: 10_000, intervalMs: 1 })
  assert.equal([r.ok, r.attempts, r.value], [true, 1, 'streaming'])
})

wait('never done: ok false after timeoutMs, with the last value', async () => {
  let n = 0
  const r = await waitUntil(async () => `catching up ${++n}`, () => false, { timeoutMs: 30, intervalMs: 1 })
  assert.is(r.ok, false)
  assert.ok(r.attempts >= 1)
  assert.is(r.value, `catching up ${r.attempts}`, 'the value of the last attempt')
  assert.is(r.error, undefined)
  assert.ok(r.waitedMs >= 0)
})

wait('a probe that throws counts as not done; its message is the error', async () => {
  const r = await waitUntil(
    async (): Promise<string> => {
      throw new Error('connection refused')
    },
    () => true,
    { timeoutMs: 30, intervalMs: 1 },
  )
  assert.is(r.ok, false)
  assert.is(r.error, 'connection refused')
  assert.is(r.value, undefined)
})

wait('a probe that threw and then answers: done, and the earlier error is gone', async () => {
  let n = 0
  const r = await waitUntil(
    async () => {
      if (++n < 3) throw new Error('not up yet')
      return 'up'
    },
    (v) => v === 'up',
    { timeoutMs: 10_000, intervalMs: 1 },
  )
  assert.equal([r.ok, r.attempts, r.value], [true, 3, 'up'])
  assert.not.ok('error' in r)
})

wait('a probe that answered and then throws until the timeout: the last answer is kept beside the error', async () => {
  let n = 0
  const r = await waitUntil(
    async () => {
      if (++n === 1) return 'lagging'
      throw new Error('timeout')
    },
    (v) => v === 'caught up',
    { timeoutMs: 30, intervalMs: 1 },
  )
  assert.is(r.ok, false)
  assert.is(r.value, 'lagging')
  assert.is(r.error, 'timeout')
})

wait('timeoutMs 0: the probe is asked once', async () => {
  let n = 0
  const r = await waitUntil(async () => ++n, () => false, { timeoutMs: 0, intervalMs: 1 })
  assert.equal([r.ok, r.attempts, n], [false, 1, 1])
})

wait.run()

const loop = suite('attemptLoop')

const password = new Secret('wr1ter-s3cret', 'pg_writer_password')
const attempt = sh`PGPASSWORD=${password} psql -XAtq -h 10.77.0.11 -U writer -d drill -c ${'insert into w default values'}`

loop('the attempt runs verbatim inside the loop, each line stamped with epoch milliseconds', () => {
  const text = attemptLoop(attempt).text
  assert.ok(text.includes(attempt.text), text)
  assert.ok(text.includes('date +%s%3N'), text)
})

loop("the attempt's secrets are carried, so the host masks them", () => {
  assert.ok(attempt.secrets.includes('wr1ter-s3cret'))
  assert.equal(attemptLoop(attempt).secrets, attempt.secrets)
})

loop('an attempt without secrets carries none', () => {
  assert.equal(attemptLoop(sh`curl -fsS http://10.77.0.100/health`).secrets, [])
})

const pauses: [string, number | undefined, string][] = [
  ['the default pause', undefined, 'sleep 0.05'],
  ['a given pause', 0.02, 'sleep 0.02'],
]
for (const [name, pause, expected] of pauses)
  loop(`${name} between attempts: ${expected}`, () => {
    assert.ok(attemptLoop(attempt, pause).text.includes(expected))
  })

loop.run()
