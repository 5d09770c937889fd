// Who is the PostgreSQL primary, from the hosts themselves: the topology probe's
// output read into a node (captured lab output in test/fixtures/postgres-topology),
// LSN arithmetic, one line per node for reports, and the judgment that refuses
// an inventory that would start a second primary.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProbeOutput } from '../../../src/facts/fact.ts'
import { BerthError } from '../../../src/errors.ts'
import { describeNode, FENCE_FILE, judgeTopology, lsnBytes, lsnDiff, parsePgNode, topologyScript, type Observed, type PgNode } from '../../../roles/postgres/topology.ts'

const fixture = (name: 'primary-running' | 'standby-streaming' | 'standby-stopped'): string =>
  readFileSync(new URL(`../../fixtures/postgres-topology/${name}.txt`, import.meta.url), 'utf8')
const ok = (stdout: string): ProbeOutput => ({ code: 0, stdout, stderr: '' })
/** The probe output with the server section (psql's answer) replaced. */
const withServer = (text: string, server: string): string => text.replace(/^--server--\n[\s\S]*?^--end--$/m, `--server--\n${server}\n--end--`)
/** The probe output with a fence record in its fence section. */
const withFence = (text: string, record: string): string => text.replace('--fence--\n', `--fence--\n${record}\n`)

const SYSTEM_ID = '7715435624401287349'
// What psql -XAtq -F '|' prints for the probe's query on a running server (STATE_SQL's six columns).
const PRIMARY_ROW = `primary|${SYSTEM_ID}|5|0/8002290||`
const STANDBY_ROW = `standby|${SYSTEM_ID}|5|0/8002290|0/8002258|streaming 10.77.0.11`

const parse = suite('parsePgNode')

parse('a running primary: role, timeline and LSN from the server; no standby.signal, no upstream', () => {
  assert.equal(parsePgNode(ok(withServer(fixture('primary-running'), PRIMARY_ROW))), {
    role: 'primary',
    systemId: SYSTEM_ID,
    timeline: 5,
    lsn: '0/8002290',
    replayLsn: undefined,
    controlState: 'in production',
    standbySignal: false,
    fenced: undefined,
    upstream: undefined,
  })
})

parse('a streaming standby: received and replayed LSN, its upstream, standby.signal', () => {
  assert.equal(parsePgNode(ok(withServer(fixture('standby-streaming'), STANDBY_ROW))), {
    role: 'standby',
    systemId: SYSTEM_ID,
    timeline: 5,
    lsn: '0/8002290',
    replayLsn: '0/8002258',
    controlState: 'in archive recovery',
    standbySignal: true,
    fenced: undefined,
    upstream: 'streaming 10.77.0.11',
  })
})

parse("a stopped standby (psql cannot connect): down, with the last checkpoint's timeline and location", () => {
  assert.equal(parsePgNode(ok(fixture('standby-stopped'))), {
    role: 'down',
    systemId: SYSTEM_ID,
    timeline: 5,
    lsn: '0/80021D8',
    controlState: 'shut down in recovery',
    standbySignal: true,
    fenced: undefined,
  })
})

const controlFields: ['primary-running' | 'standby-streaming' | 'standby-stopped', string, boolean][] = [
  ['primary-running', 'in production', false],
  ['standby-streaming', 'in archive recovery', true],
  ['standby-stopped', 'shut down in recovery', true],
]
for (const [name, controlState, standbySignal] of controlFields)
  parse(`${name}.txt: system identifier and cluster state from pg_controldata, standby.signal from its section`, () => {
    const n = parsePgNode(ok(fixture(name)))
    assert.equal([n.systemId, n.controlState, n.standbySignal, n.fenced], [SYSTEM_ID, controlState, standbySignal, undefined])
  })

parse('no PG_VERSION in the data directory: absent', () => {
  assert.equal(parsePgNode(ok('role=absent\n')), { role: 'absent', standbySignal: false })
})

parse("a fence record: the file's content shows as fenced, running or not", () => {
  const record = 'fenced at 2026-12-04T13:20:00Z by drill pg-failover: db2 was promoted'
  assert.is(parsePgNode(ok(withFence(fixture('standby-stopped'), record))).fenced, record)
  assert.is(parsePgNode(ok(withFence(withServer(fixture('primary-running'), PRIMARY_ROW), record))).fenced, record)
})

parse('an empty fence section: not fenced', () => {
  assert.is(parsePgNode(ok(withFence(fixture('standby-stopped'), ''))).fenced, undefined)
})

parse('pg_controldata failed: the server still says role, timeline and system identifier', () => {
  const text = withServer(fixture('primary-running'), PRIMARY_ROW).replace(/^--controldata--\n[\s\S]*?^--signal--$/m, '--controldata--\npg_controldata: fatal: could not open file "/data/pgsql/data/global/pg_control": Permission denied\n--signal--')
  const n = parsePgNode(ok(text))
  assert.equal([n.role, n.systemId, n.timeline, n.controlState], ['primary', SYSTEM_ID, 5, undefined])
})

parse('a probe that exited non-zero throws with its stderr, or its code', () => {
  assert.throws(() => parsePgNode({ code: 1, stdout: '', stderr: 'runuser: user postgres does not exist\n' }), /runuser: user postgres does not exist/)
  assert.throws(() => parsePgNode({ code: 2, stdout: fixture('primary-running'), stderr: '' }), /exited with code 2/)
})

parse.run()

const script = suite('topologyScript')

script('prints the sections the parser reads, asks pg_controldata and the server of the version given', () => {
  const text = topologyScript({ version: 15, port: 5432, dataDir: '/data/pgsql/data' }).text
  for (const marker of ['--controldata--', '--signal--', '--fence--', '--server--', '--end--']) assert.ok(text.split('\n').includes(`echo ${marker}`), marker)
  assert.ok(text.startsWith('d=/data/pgsql/data\n'))
  assert.ok(text.includes('/usr/lib/postgresql/15/bin/pg_controldata "$d"'))
  assert.ok(text.includes(`cat ${FENCE_FILE} `))
  assert.match(text, /psql -XAtq -F '\|' -p 5432 -d postgres -c 'select case when pg_is_in_recovery\(\)/)
})

script('run by sh on a directory without PG_VERSION: role=absent, and the parser says absent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-topology-'))
  try {
    const r = spawnSync('sh', ['-c', topologyScript({ version: 15, port: 5432, dataDir: dir }).text], { encoding: 'utf8' })
    assert.is(r.stdout, 'role=absent\n')
    assert.equal(parsePgNode({ code: r.status, stdout: r.stdout, stderr: r.stderr }), { role: 'absent', standbySignal: false })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

script.run()

const lsn = suite('lsnBytes and lsnDiff')

const bytes: [string, bigint][] = [
  ['0/0', 0n],
  ['0/3000060', 0x3000060n],
  ['16/B374D848', (0x16n << 32n) + 0xb374d848n],
  ['ffffffff/ffffffff', 0xffffffffffffffffn],
  [' 0/8002290\n', 0x8002290n],
]
for (const [text, expected] of bytes)
  lsn(`lsnBytes(${JSON.stringify(text)})`, () => {
    assert.is(lsnBytes(text), expected)
  })

const diffs: [string, string, string, number][] = [
  ['a standby 56 bytes behind', '0/3000060', '0/3000028', 56],
  ['across the 32-bit boundary', '1/0', '0/FFFFFFFF', 1],
  ['behind is negative', '0/3000028', '0/3000060', -56],
  ['equal', '0/8002290', '0/8002290', 0],
]
for (const [name, a, b, expected] of diffs)
  lsn(`lsnDiff: ${name}`, () => {
    assert.is(lsnDiff(a, b), expected)
  })

for (const bad of ['', '0', '0/', '/0', '0/3000060/1', '123456789/0', '0/G', 'x'])
  lsn(`not an LSN: ${JSON.stringify(bad)} throws`, () => {
    assert.throws(() => lsnBytes(bad), /not an LSN/)
    assert.throws(() => lsnDiff(bad, '0/0'), /not an LSN/)
  })

lsn.run()

const describe = suite('describeNode')

const described: [string, PgNode | { unreachable: string }, string][] = [
  ['a primary', { role: 'primary', systemId: SYSTEM_ID, timeline: 2, lsn: '0/5000060', standbySignal: false }, 'primary, timeline 2, 0/5000060'],
  [
    'a streaming standby names its upstream',
    { role: 'standby', timeline: 2, lsn: '0/5000060', replayLsn: '0/5000028', standbySignal: true, upstream: 'streaming 10.77.0.11' },
    'standby, timeline 2, 0/5000060, from streaming 10.77.0.11',
  ],
  [
    'a down standby: its state, standby.signal, the checkpoint',
    { role: 'down', timeline: 5, lsn: '0/80021D8', controlState: 'shut down in recovery', standbySignal: true },
    'down (shut down in recovery, standby.signal), timeline 5, checkpoint 0/80021D8',
  ],
  ['down, pg_controldata unreadable', { role: 'down', standbySignal: false }, 'down (state unknown)'],
  [
    'a fenced node',
    { role: 'down', timeline: 1, lsn: '0/3000060', controlState: 'shut down', standbySignal: false, fenced: 'fenced by drill pg-failover' },
    'down (shut down), timeline 1, checkpoint 0/3000060, FENCED',
  ],
  ['no cluster', { role: 'absent', standbySignal: false }, 'no cluster'],
  ['an unreachable host', { unreachable: 'timeout' }, 'unreachable (timeout)'],
]
for (const [name, node, expected] of described)
  describe(name, () => {
    assert.is(describeNode(node), expected)
  })

describe.run()

const judge = suite('judgeTopology')

const OVERRIDE = '-e pg_primary=HOST'
const primary = (timeline: number, systemId = SYSTEM_ID): PgNode => ({ role: 'primary', systemId, timeline, lsn: '0/3000060', standbySignal: false })
const standby = (timeline: number, systemId = SYSTEM_ID): PgNode => ({ role: 'standby', systemId, timeline, lsn: '0/3000060', replayLsn: '0/3000060', standbySignal: true, upstream: 'streaming 10.77.0.11' })
const down = (timeline: number, systemId = SYSTEM_ID, over: Partial<PgNode> = {}): PgNode => ({ role: 'down', systemId, timeline, lsn: '0/3000028', controlState: 'shut down', standbySignal: false, ...over })
const absent: PgNode = { role: 'absent', standbySignal: false }
const observed = (nodes: Record<string, PgNode | { unreachable: string }>): Observed => new Map(Object.entries(nodes))

/** The BerthError judgeTopology throws (fails the test when it returns). */
function refusal(primaryName: string, nodes: Record<string, PgNode | { unreachable: string }>, opts: { explicit?: boolean } = {}): BerthError {
  try {
    const verdict = judgeTopology(primaryName, observed(nodes), OVERRIDE, opts)
    assert.unreachable(`accepted: ${verdict}`)
  } catch (e) {
    if (!(e instanceof BerthError)) throw e
    return e
  }
  throw new Error('unreachable')
}

const accepted: [string, string, Record<string, PgNode | { unreachable: string }>, { explicit?: boolean }, RegExp][] = [
  [
    "(a) the inventory's primary runs as the primary, the other streams from it",
    'db1',
    { db1: primary(1), db2: standby(1) },
    {},
    /^db1 is the primary \(primary, timeline 1, 0\/3000060\); db2: standby, timeline 1, 0\/3000060, from streaming 10\.77\.0\.11$/,
  ],
  [
    '(d) a later timeline on another cluster (another system identifier) is no promotion of this one',
    'db1',
    { db1: down(1), db2: down(2, '7000000000000000001') },
    {},
    /^db1 is the primary \(down \(shut down\), timeline 1, checkpoint 0\/3000028\); db2: down/,
  ],
  ['(d) named explicitly (-e pg_primary), the primary is kept over a later timeline elsewhere', 'db1', { db1: down(1), db2: down(2) }, { explicit: true }, /^db1 is the primary/],
  ['(e) named explicitly, a fenced primary is the operator\'s decision (the tier lifts the fence)', 'db1', { db1: down(1, SYSTEM_ID, { fenced: 'by the start guard' }), db2: standby(1) }, { explicit: true }, /^db1 is the primary/],
  ['(g) an unreachable host is left out', 'db1', { db1: primary(1), db2: { unreachable: 'timeout' } }, {}, /^db1 is the primary \(primary, timeline 1, 0\/3000060\); no other database host answered$/],
  ['(g) the primary itself unreachable: the others are still listed', 'db1', { db1: { unreachable: 'timeout' }, db2: standby(1) }, {}, /^db1 is the primary \(not reachable\); db2: standby/],
  ['(h) fresh hosts: no cluster anywhere yet', 'db1', { db1: absent, db2: absent }, {}, /^db1 is the primary \(no cluster\); db2: no cluster$/],
  ['a stopped primary and its stopped standby on the same timeline', 'db1', { db1: down(1), db2: down(1, SYSTEM_ID, { standbySignal: true }) }, {}, /^db1 is the primary \(down/],
]
for (const [name, primaryName, nodes, opts, expected] of accepted)
  judge(`accepted: ${name}`, () => {
    assert.match(judgeTopology(primaryName, observed(nodes), OVERRIDE, opts), expected)
  })

const refused: [string, string, Record<string, PgNode | { unreachable: string }>, { explicit?: boolean }, RegExp[], RegExp[]][] = [
  [
    '(b) two running primaries: split brain, naming both',
    'db1',
    { db1: primary(1), db2: primary(2) },
    {},
    [/^split brain: /, /db1 \(primary, timeline 1, 0\/3000060\) and db2 \(primary, timeline 2, 0\/3000060\) both accept writes/],
    [/stop the other/],
  ],
  ['(b) split brain whatever the inventory names, even explicitly', 'db2', { db1: primary(1), db2: primary(2) }, { explicit: true }, [/^split brain: .*db1 .* and db2 /], []],
  [
    "(c) another host runs as the primary and the inventory's primary is down",
    'db1',
    { db1: down(1), db2: primary(2) },
    {},
    [/the inventory says db1 is the PostgreSQL primary, but db2 \(primary, timeline 2, 0\/3000060\) is the primary; db1 is down \(shut down\), timeline 1/, /second primary/],
    [/put db2 in group pg_primary and db1 in pg_standby/, /run with -e pg_primary=db2;/],
  ],
  ['(c) another host runs as the primary, named explicitly or not', 'db1', { db1: down(1), db2: primary(2) }, { explicit: true }, [/but db2 \(primary, .*\) is the primary/], [/-e pg_primary=db2/]],
  ["(c) another host runs as the primary and the inventory's primary cannot be asked", 'db1', { db1: { unreachable: 'timeout' }, db2: primary(2) }, {}, [/but db2 \(primary, .*\) is the primary; db1 is not known/], [/-e pg_primary=db2/]],
  [
    '(d) the inventory primary is down on timeline 1, the other down on timeline 2 of the same cluster: it was promoted',
    'db1',
    { db1: down(1), db2: down(2, SYSTEM_ID, { controlState: 'shut down in recovery', standbySignal: true }) },
    {},
    [/but db2 \(down \(shut down in recovery, standby\.signal\), timeline 2, checkpoint 0\/3000028\) is on a later timeline: it was promoted/],
    [/-e pg_primary=db2/, /To keep db1 as the primary instead .* run with -e pg_primary=db1$/],
  ],
  ['(d) the later timeline on a running standby', 'db1', { db1: down(1), db2: standby(2) }, {}, [/but db2 \(standby, timeline 2, .*\) is on a later timeline/], [/-e pg_primary=db2/]],
  ['(d) of two later timelines, the latest is named', 'db1', { db1: down(1), db2: down(2), db3: down(3) }, {}, [/but db3 \(down \(shut down\), timeline 3, .*\) is on a later timeline/], [/-e pg_primary=db3/]],
  [
    "(e) the inventory's primary was fenced",
    'db1',
    { db1: down(1, SYSTEM_ID, { fenced: 'fenced by drill pg-failover at 2026-12-04T13:20:00Z' }), db2: standby(1) },
    {},
    [/^db1 is fenced and must not start as a primary: fenced by drill pg-failover at 2026-12-04T13:20:00Z$/],
    [/-e pg_primary=NEW_PRIMARY/, /rejoining db1 as a standby lifts the fence/, /If it really is the primary, -e pg_primary=db1 lifts the fence and starts it/],
  ],
  [
    "(f) the inventory's primary runs as a standby and nobody accepts writes",
    'db1',
    { db1: standby(1), db2: standby(1) },
    {},
    [/the inventory says db1 is the PostgreSQL primary, but it runs as a standby \(standby, timeline 1, .*\) and no host accepts writes/],
    [/put db1 in pg_standby/],
  ],
]
for (const [name, primaryName, nodes, opts, message, hint] of refused)
  judge(`refused: ${name}`, () => {
    const e = refusal(primaryName, nodes, opts)
    for (const m of message) assert.match(e.message, m)
    for (const h of hint) assert.match(e.hint ?? '', h)
  })

judge('(c) when another host runs as the primary, the hint offers no way to keep the stale one', () => {
  assert.not.match(refusal('db1', { db1: down(1), db2: primary(2) }).hint ?? '', /To keep db1/)
})

judge('(g) an unreachable host is no second primary and no promoted one', () => {
  assert.match(judgeTopology('db1', observed({ db1: primary(1), db2: { unreachable: 'ssh: connection refused' }, db3: standby(1) }), OVERRIDE), /^db1 is the primary .*; db3: standby/)
})

judge.run()
