// What a drill needs from the playbook engine: faults it causes on purpose do
// not set exit 2 or 4, its verdict decides the exit code, a host that is back
// takes part again, every event carries when it happened, and the events of a
// step can be watched (masked).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Playbook } from '../../../src/playbook.ts'
import type { BerthEvent } from '../../../src/report/events.ts'
import { command } from '../../../src/resources/index.ts'
import { RunLedger } from '../../../src/runner/play.ts'
import { sh } from '../../../src/shell.ts'
import { note } from '../../support/note-resource.ts'
import { runPlaybook } from '../../support/playbook-run.ts'

let dir = ''
/** Two hosts on this machine (ansible_connection: local): nothing leaves it. */
const inventory = (): string => {
  const path = join(dir, 'hosts.yml')
  writeFileSync(path, 'all:\n  hosts:\n    db1:\n      ansible_connection: local\n    db2:\n      ansible_connection: local\n')
  return path
}
const hooks = (s: ReturnType<typeof suite>) => {
  s.before.each(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-drill-verdict-'))
  })
  s.after.each(() => {
    rmSync(dir, { recursive: true, force: true })
  })
}
const run = (body: (pb: Playbook) => Promise<void>, ...flags: string[]) => runPlaybook(['-i', inventory(), ...flags], body)
/** The events of a --json run, parsed. */
const eventsOf = (out: string): (BerthEvent & Record<string, unknown>)[] =>
  out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as BerthEvent & Record<string, unknown>)

const exit = suite('Playbook.exitCode with expected faults and a decided exit')
hooks(exit)

const codes: [string, (pb: Playbook) => void, number][] = [
  ['nothing failed: 0', () => {}, 0],
  ['an unexpected failed host: 2', (pb) => void pb.ledger.failed.add('db2'), 2],
  ['an unexpected unreachable host: 4', (pb) => void pb.ledger.unreachable.add('db2'), 4],
  [
    'failed wins over unreachable: 2',
    (pb) => {
      pb.ledger.failed.add('db1')
      pb.ledger.unreachable.add('db2')
    },
    2,
  ],
  [
    'an expected failed host: 0',
    (pb) => {
      pb.expectFault('db2', 'the drill stops its PostgreSQL')
      pb.ledger.failed.add('db2')
    },
    0,
  ],
  [
    'an expected unreachable host: 0',
    (pb) => {
      pb.expectFault('db2', 'the drill powers it off')
      pb.ledger.unreachable.add('db2')
    },
    0,
  ],
  [
    'an expected host both failed and unreachable: 0',
    (pb) => {
      pb.expectFault('db2', 'the drill powers it off')
      pb.ledger.failed.add('db2')
      pb.ledger.unreachable.add('db2')
    },
    0,
  ],
  [
    'expected unreachable db2 beside an unexpected failure of db1: 2',
    (pb) => {
      pb.expectFault('db2', 'the drill powers it off')
      pb.ledger.unreachable.add('db2')
      pb.ledger.failed.add('db1')
    },
    2,
  ],
  [
    'expected failed db2 beside an unexpected unreachable db1: 4',
    (pb) => {
      pb.expectFault('db2', 'the drill stops its PostgreSQL')
      pb.ledger.failed.add('db2')
      pb.ledger.unreachable.add('db1')
    },
    4,
  ],
  [
    'an expected fault on another host excuses nothing: 2',
    (pb) => {
      pb.expectFault('db1', 'the drill stops its PostgreSQL')
      pb.ledger.failed.add('db2')
    },
    2,
  ],
  [
    'decideExit(7) wins over an unexpected failure and an unexpected unreachable host',
    (pb) => {
      pb.ledger.failed.add('db1')
      pb.ledger.unreachable.add('db2')
      pb.decideExit(7)
    },
    7,
  ],
  [
    'decideExit(0) wins over an unexpected failure',
    (pb) => {
      pb.ledger.failed.add('db1')
      pb.decideExit(0)
    },
    0,
  ],
  ['decideExit(6) sets the code when every host did well', (pb) => pb.decideExit(6), 6],
  [
    'the last decision counts',
    (pb) => {
      pb.decideExit(6)
      pb.decideExit(7)
    },
    7,
  ],
  [
    'a readmitted host no longer counts as failed or unreachable: 0',
    (pb) => {
      pb.ledger.failed.add('db1')
      pb.ledger.unreachable.add('db2')
      pb.ledger.readmit('db1')
      pb.ledger.readmit('db2')
    },
    0,
  ],
]
for (const [name, body, expected] of codes)
  exit(name, async () => {
    let seen: number | undefined
    const r = await run(async (pb) => {
      body(pb)
      seen = pb.exitCode()
    })
    assert.is(seen, expected, 'pb.exitCode()')
    assert.is(r.code, expected, r.out + r.err)
  })

exit('a task that really fails on an expected host is reported failed, and the run exits 0', async () => {
  const r = await run(
    async (pb) => {
      pb.expectFault('db2', 'the drill stops its PostgreSQL')
      await pb.play('probe', 'all', (h) => [command(h.name === 'db2' ? sh`exit 3` : sh`true`).named('probe')])
    },
    '--json',
  )
  assert.is(r.code, 0, r.out + r.err)
  const events = eventsOf(r.out)
  const failed = events.filter((e) => e.kind === 'host_result' && e.status === 'failed').map((e) => e.kind === 'host_result' && e.host)
  assert.equal(failed, ['db2'])
  const recap = events.find((e) => e.kind === 'recap')
  assert.is(recap?.kind === 'recap' ? recap.hosts.db2?.failed : undefined, 1, 'the recap shows the failure as it is')
})

exit('the same failure on a host not expected to fail: exit 2', async () => {
  const r = await run(async (pb) => {
    await pb.play('probe', 'all', (h) => [command(h.name === 'db2' ? sh`exit 3` : sh`true`).named('probe')])
  })
  assert.is(r.code, 2, r.out + r.err)
})

exit('expectFault on a host the inventory does not have: a configuration error, exit 1', async () => {
  const r = await run(async (pb) => pb.expectFault('db9', 'typo'))
  assert.is(r.code, 1)
  assert.match(r.err, /no host named 'db9' in the inventory/)
})

exit.run()

const readmit = suite('RunLedger.readmit')
hooks(readmit)

readmit('removes the host from failed and unreachable; other hosts and expected faults stay', () => {
  const ledger = new RunLedger()
  ledger.failed.add('db1')
  ledger.failed.add('db2')
  ledger.unreachable.add('db1')
  ledger.unreachable.add('db3')
  ledger.expectedFaults.set('db1', 'the drill powers it off')
  ledger.readmit('db1')
  assert.equal([...ledger.failed], ['db2'])
  assert.equal([...ledger.unreachable], ['db3'])
  assert.equal([...ledger.expectedFaults.keys()], ['db1'])
})

readmit('a host that was never out: nothing changes', () => {
  const ledger = new RunLedger()
  ledger.failed.add('db2')
  ledger.readmit('db1')
  assert.equal([...ledger.failed], ['db2'])
  assert.equal([...ledger.unreachable], [])
})

readmit('a failed host sits the next play out; readmitted, it takes part again', async () => {
  const hostsOf: string[][] = []
  const r = await run(async (pb) => {
    pb.ledger.failed.add('db2')
    hostsOf.push([...(await pb.play('while out', 'all', (h) => [note(join(dir, `${h.name}-1`), 'x\n')])).results.keys()])
    pb.ledger.readmit('db2')
    hostsOf.push([...(await pb.play('after readmit', 'all', (h) => [note(join(dir, `${h.name}-2`), 'x\n')])).results.keys()])
  })
  assert.equal(hostsOf, [['db1'], ['db1', 'db2']])
  assert.is(r.code, 0, r.out + r.err)
})

readmit('reconnect readmits a host that is back and ends its expected fault', async () => {
  let after: { failed: boolean; unreachable: boolean; expected: boolean; waitedMs: number } | undefined
  const r = await run(async (pb) => {
    pb.expectFault('db2', 'the drill restarts it')
    pb.ledger.failed.add('db2')
    pb.ledger.unreachable.add('db2')
    const { waitedMs } = await pb.reconnect('db2', { timeoutMs: 5_000, intervalMs: 1 })
    after = { failed: pb.ledger.failed.has('db2'), unreachable: pb.ledger.unreachable.has('db2'), expected: pb.ledger.expectedFaults.has('db2'), waitedMs }
  })
  assert.equal(after && { ...after, waitedMs: after.waitedMs >= 0 }, { failed: false, unreachable: false, expected: false, waitedMs: true })
  assert.is(r.code, 0, r.out + r.err)
})

readmit.run()

const stamped = suite('events carry when they happened')
hooks(stamped)

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

stamped('every event of a --json run has an ISO timestamp `at`', async () => {
  const r = await run(async (pb) => {
    pb.log('starting')
    await pb.play('notes', 'all', (h) => [note(join(dir, h.name), 'x\n')])
  }, '--json')
  assert.is(r.code, 0, r.out + r.err)
  const events = eventsOf(r.out)
  assert.equal(
    [...new Set(events.map((e) => e.kind))].sort(),
    ['command', 'host_result', 'message', 'play_start', 'playbook_start', 'recap', 'task_start'],
    'the kinds this run emits',
  )
  for (const e of events) assert.match(String(e.at), ISO, JSON.stringify(e))
})

stamped('an event that already says when it happened keeps its time', async () => {
  const r = await run(async (pb) => pb.emit({ kind: 'message', message: 'replayed', at: '2026-12-04T13:14:12.340Z' }), '--json')
  const replayed = eventsOf(r.out).find((e) => e.kind === 'message')
  assert.is(replayed?.at, '2026-12-04T13:14:12.340Z')
})

stamped.run()

const observe = suite('Playbook.observe')
hooks(observe)

observe('sees the events from then on, masked and stamped, until it is stopped', async () => {
  const seen: BerthEvent[] = []
  const r = await run(async (pb) => {
    const token = pb.secret('obs3rved-t0ken', 'drill_token')
    const stop = pb.observe((e) => seen.push(e))
    pb.log(`using ${token.reveal()}`)
    await pb.play('notes', 'db1', (h) => [note(join(dir, h.name), 'x\n')])
    stop()
    pb.log('after stop')
  })
  assert.is(r.code, 0, r.out + r.err)
  // The commands the task ran come between its start and its result; how many is the task's business.
  assert.equal(
    seen.map((e) => e.kind).filter((k, i, all) => k !== 'command' || all[i - 1] !== 'command'),
    ['message', 'play_start', 'task_start', 'command', 'host_result'],
  )
  assert.is(seen[0]?.kind === 'message' ? seen[0].message : undefined, 'using ********')
  assert.not.ok(JSON.stringify(seen).includes('obs3rved-t0ken'))
  for (const e of seen) assert.match(String(e.at), ISO)
})

observe('stopping one observer leaves the others watching', async () => {
  const first: string[] = []
  const second: string[] = []
  await run(async (pb) => {
    const stopFirst = pb.observe((e) => e.kind === 'message' && first.push(e.message))
    pb.observe((e) => e.kind === 'message' && second.push(e.message))
    pb.log('one')
    stopFirst()
    pb.log('two')
  })
  assert.equal(first, ['one'])
  assert.equal(second, ['one', 'two'])
})

observe.run()
