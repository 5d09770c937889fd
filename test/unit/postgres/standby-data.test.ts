import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { thrownBy } from './fixtures.ts'
import { BerthError } from '../../../src/errors.ts'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import type { DataDirState } from '../../../roles/postgres/cluster-facts.ts'
import type { PrimaryIdentity } from '../../../roles/postgres/server-facts.ts'
import { decideStandbyData, standbyData, standbyDataCommands, type StandbyDataInput, type StandbyDecision } from '../../../roles/postgres/standby-data.ts'

const DATA = '/data/pgsql/data'
const PRIMARY_ID = '7714595833302423689'
const OTHER_ID = '7714597812895791290'
const STAMP = '20261202T070014'

const input = (o: Partial<StandbyDataInput> = {}): StandbyDataInput => ({
  role: 'pg13-standby',
  version: 15,
  cluster: 'main',
  dataDir: DATA,
  primary: { host: '10.0.0.5', port: 5432, user: 'replica', passfile: '/var/lib/postgresql/.pgpass' },
  slot: 'db2',
  unit: 'postgresql@15-main',
  replaceDataDir: false,
  stamp: () => STAMP,
  ...o,
})
const cluster = (o: Partial<Extract<DataDirState, { kind: 'cluster' }>> = {}): DataDirState => ({
  kind: 'cluster',
  version: 15,
  standby: false,
  systemId: PRIMARY_ID,
  state: 'shut down',
  nextOid: 13573,
  running: false,
  userObjects: undefined,
  ...o,
})
const REACHABLE: PrimaryIdentity = { reachable: true, systemId: PRIMARY_ID, timeline: 1 }
const UNREACHABLE: PrimaryIdentity = { reachable: false, reason: 'psql: error: connection to server at "10.0.0.5", port 5432 failed: Connection refused' }
const STANDBY_OF_PRIMARY = cluster({ standby: true, state: 'in archive recovery', nextOid: 16387, running: true, userObjects: 4 })
const STANDBY_OF_OTHER = cluster({ standby: true, systemId: OTHER_ID, state: 'in archive recovery', nextOid: 16387, running: true, userObjects: 4 })
const PRIMARY_WITH_DATA = cluster({ systemId: OTHER_ID, state: 'in production', nextOid: 24576, running: true, userObjects: 12 })
const PRISTINE_PRIMARY = cluster({ systemId: OTHER_ID })


const decide = suite('decideStandbyData')

const decisions: [string, DataDirState, PrimaryIdentity, boolean, StandbyDecision][] = [
  ['absent: take a base backup', { kind: 'absent' }, REACHABLE, false, 'take'],
  ['empty: take a base backup', { kind: 'empty' }, REACHABLE, false, 'take'],
  ['absent, primary unreachable: still take (pg_basebackup will say why it cannot)', { kind: 'absent' }, UNREACHABLE, false, 'take'],
  ['a standby of this primary (same system id): keep', STANDBY_OF_PRIMARY, REACHABLE, false, 'keep'],
  ['a standby of this primary, replaceDataDir true: still keep', STANDBY_OF_PRIMARY, REACHABLE, true, 'keep'],
  ['a standby, primary unreachable: keep (cannot tell, so nothing is touched)', STANDBY_OF_OTHER, UNREACHABLE, false, 'keep'],
  ['a standby whose control file could not be read: keep', cluster({ standby: true, systemId: undefined, state: undefined, nextOid: undefined }), REACHABLE, false, 'keep'],
  ['a standby of another cluster, replaceDataDir true: replace, keeping the old one', STANDBY_OF_OTHER, REACHABLE, true, 'replace-kept'],
  ['a pristine primary (fresh from pg_createcluster): replace-pristine', PRISTINE_PRIMARY, REACHABLE, false, 'replace-pristine'],
  ['a pristine primary, primary unreachable: replace-pristine', PRISTINE_PRIMARY, UNREACHABLE, false, 'replace-pristine'],
  ['a running primary with no user object: replace-pristine', cluster({ state: 'in production', nextOid: 16390, running: true, userObjects: 0 }), REACHABLE, false, 'replace-pristine'],
  ['a primary with data, replaceDataDir true: replace-kept', PRIMARY_WITH_DATA, REACHABLE, true, 'replace-kept'],
]
for (const [name, d, primary, replaceDataDir, expected] of decisions)
  decide(name, () => {
    const r = decideStandbyData(input({ replaceDataDir }), d, primary)
    assert.is(r.decision, expected)
    assert.ok(r.summary.length > 0)
  })

decide('keep summaries say why', () => {
  assert.is(decideStandbyData(input(), STANDBY_OF_PRIMARY, REACHABLE).summary, `standby of 10.0.0.5:5432 (system ${PRIMARY_ID})`)
  assert.ok(decideStandbyData(input(), STANDBY_OF_OTHER, UNREACHABLE).summary.includes('Connection refused'))
})

decide('a standby of another cluster without replaceDataDir: refused, the hint names replaceDataDir', () => {
  const e = thrownBy(BerthError, () => decideStandbyData(input(), STANDBY_OF_OTHER, REACHABLE))
  assert.ok(e.message.includes(`${DATA} holds a standby of another cluster (system ${OTHER_ID}, the primary is ${PRIMARY_ID})`), e.message)
  assert.ok(e.message.includes('berth will not replace it'))
  assert.ok(e.hint?.includes('replaceDataDir: true'), e.hint)
  assert.ok(e.hint?.includes('not deleted'))
})

decide('a primary with data without replaceDataDir: refused', () => {
  for (const d of [PRIMARY_WITH_DATA, cluster({ nextOid: 16387 }), cluster({ state: 'in production' })]) {
    const e = thrownBy(BerthError, () => decideStandbyData(input(), d, REACHABLE))
    assert.ok(e.message.includes('a primary cluster with data'), e.message)
    assert.ok(e.hint?.includes('replaceDataDir'))
  }
})

decide('not a directory, or other files: refused whatever replaceDataDir says', () => {
  for (const replaceDataDir of [false, true]) {
    assert.throws(() => decideStandbyData(input({ replaceDataDir }), { kind: 'not-a-directory' }, REACHABLE), /option 'dataDir' \(\/data\/pgsql\/data\) is not a directory/)
    assert.throws(() => decideStandbyData(input({ replaceDataDir }), { kind: 'other-files' }, REACHABLE), /option 'dataDir' \(\/data\/pgsql\/data\) is a directory of other files/)
  }
})

decide.run()

const commands = suite('standbyDataCommands')
const texts = (d: StandbyDecision, o: Partial<StandbyDataInput> = {}): string[] => standbyDataCommands(input(o), d).map((c) => c.text)
const INCOMING = `${DATA}.berth-incoming`
const DISCARD = `${DATA}.berth-discard`

commands('keep: no command', () => {
  assert.equal(texts('keep'), [])
})

for (const d of ['take', 'replace-pristine', 'replace-kept'] as const)
  commands(`${d}: the unit stops first, then pg_basebackup -R through the slot into ${INCOMING}`, () => {
    const cmds = texts(d)
    assert.is(cmds[0], 'systemctl stop -- postgresql@15-main')
    const backup = cmds.findIndex((c) => c.includes('/usr/lib/postgresql/15/bin/pg_basebackup '))
    assert.ok(backup > 0, 'pg_basebackup after the stop')
    const b = cmds[backup] ?? ''
    for (const part of ['--write-recovery-conf', '--slot=db2', '--no-password', `--pgdata=${INCOMING}`, '--host=10.0.0.5', '--port=5432', '--username=replica', '--wal-method=stream'])
      assert.ok(b.includes(part), `${part} in ${b}`)
    assert.ok(b.includes('runuser -u postgres -- '), 'runs as postgres')
    assert.not.ok(b.includes('password='), 'no password on the command line')
  })

for (const d of ['take', 'replace-pristine', 'replace-kept'] as const)
  commands(`${d}: no command removes the data directory itself`, () => {
    const removals = texts(d).filter((c) => c.startsWith('rm '))
    assert.ok(removals.length > 0, 'berth cleans its own leftovers')
    for (const c of removals) {
      const words = c.split(' ').slice(1).filter((w) => !w.startsWith('-'))
      assert.not.ok(words.includes(DATA), c)
      assert.ok(words.every((w) => w === INCOMING || w === DISCARD), c)
    }
  })

commands('take: the backup is moved into place, leftovers of berth cleaned', () => {
  assert.equal(texts('take'), [
    'systemctl stop -- postgresql@15-main',
    `rm -rf -- ${INCOMING} ${DISCARD}`,
    `install -d -o postgres -g postgres -m 0700 -- ${INCOMING}`,
    `cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_basebackup --host=10.0.0.5 --port=5432 --username=replica --no-password --pgdata=${INCOMING} --wal-method=stream --write-recovery-conf --slot=db2 --checkpoint=fast`,
    `if [ -d ${DATA} ]; then rmdir -- ${DATA}; fi`,
    `mv -- ${INCOMING} ${DATA}`,
    `rm -rf -- ${DISCARD}`,
  ])
})

commands('replace-pristine: the pristine cluster goes to the discard directory only after the backup succeeded', () => {
  const cmds = texts('replace-pristine')
  const backup = cmds.findIndex((c) => c.includes('pg_basebackup'))
  const away = cmds.indexOf(`mv -- ${DATA} ${DISCARD}`)
  const into = cmds.indexOf(`mv -- ${INCOMING} ${DATA}`)
  assert.ok(backup >= 0 && away > backup && into > away, JSON.stringify(cmds))
  assert.is(cmds[cmds.length - 1], `rm -rf -- ${DISCARD}`)
})

commands('replace-kept: the old directory is renamed beside with the stamp, never deleted', () => {
  const cmds = texts('replace-kept')
  const kept = `${DATA}.replaced-${STAMP}`
  const backup = cmds.findIndex((c) => c.includes('pg_basebackup'))
  const away = cmds.indexOf(`mv -- ${DATA} ${kept}`)
  assert.ok(away > backup && backup >= 0, JSON.stringify(cmds))
  assert.ok(cmds.indexOf(`mv -- ${INCOMING} ${DATA}`) > away)
  assert.not.ok(cmds.some((c) => c.includes(kept) && !c.startsWith('mv ')), 'only the mv names the kept directory')
  assert.not.ok(cmds.some((c) => c.includes(`mv -- ${DATA} ${DISCARD}`)), 'not moved to the discard directory')
})

commands('the stamp is asked for only when the old directory is kept', () => {
  let calls = 0
  texts('replace-kept', { stamp: () => `s${++calls}` })
  assert.is(calls, 1)
  texts('replace-pristine', { stamp: () => `s${++calls}` })
  assert.is(calls, 1)
})

// An empty data directory (an interrupted run, an empty mount) is removed with rmdir,
// which refuses anything not empty, so mv puts the backup in its place, not inside it.
commands('take into an EMPTY data directory: the backup ends up AS the data directory, not inside it', () => {
  const cmds = texts(decideStandbyData(input(), { kind: 'empty' }, REACHABLE).decision)
  const into = cmds.findIndex((c) => c.startsWith('mv ') && c.endsWith(` ${DATA}`))
  assert.ok(into >= 0)
  const moveIsSafe = cmds.slice(0, into).some((c) => c.includes(`rmdir -- ${DATA}`))
  assert.ok(moveIsSafe, JSON.stringify(cmds))
})

commands.run()

const resource = suite('standbyData task')

resource('plans from the data directory and the primary identity facts', () => {
  const t = standbyData(input())
  const [dir, primary] = t.resource.facts() as [Fact<unknown>, Fact<unknown>]
  assert.is(dir.key, `pg-data-dir:15:${DATA}`)
  assert.is(primary.key, 'pg-primary-identity:10.0.0.5:5432')
  assert.ok(primary.command.text.includes('IDENTIFY_SYSTEM'))
  assert.ok(primary.command.text.includes('passfile=/var/lib/postgresql/.pgpass'))
  const keep = t.resource.plan(factValues([[dir, STANDBY_OF_PRIMARY], [primary, REACHABLE]]))
  assert.is(keep.changed, false)
  const take = t.resource.plan(factValues([[dir, { kind: 'absent' }], [primary, REACHABLE]]))
  assert.is(take.changed, true)
  assert.throws(() => t.resource.plan(factValues([[dir, PRIMARY_WITH_DATA], [primary, REACHABLE]])), /replace/)
})

resource.run()
