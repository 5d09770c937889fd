// Which standby a failover promotes, and when it refuses: facts in (the dead
// primary's last position seen, what each standby received), a choice or an
// abort out. The lag bound is only ever widened by naming it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chooseCandidate, lagBound } from '../../../playbooks/drills/postgres.ts'
import { DrillAbort } from '../../../src/drill/drill.ts'
import { ConfigError } from '../../../src/errors.ts'

const MIB = 1024 * 1024
const aborted = (fn: () => unknown): DrillAbort => {
  try {
    fn()
  } catch (e) {
    if (e instanceof DrillAbort) return e
    throw e
  }
  throw new Error('did not abort')
}

test('the standby that received the most is promoted; one ahead of the last position seen has lag 0', () => {
  const seen = [
    { host: 'db2', lsn: '0/3000000' },
    { host: 'db3', lsn: '0/3000100' },
    { host: 'db4', lsn: '0/2FFFF00' },
  ]
  assert.equal(chooseCandidate('0/3000080', seen, { maxLagBytes: MIB }), { host: 'db3', lsn: '0/3000100', lag: 0 })
})

test('a standby that did not answer is never chosen, nor counted as caught up', () => {
  assert.equal(chooseCandidate('0/3000000', [{ host: 'db2', lsn: '' }, { host: 'db3', lsn: '0/2000000' }], { maxLagBytes: 32 * MIB }).host, 'db3')
  const e = aborted(() => chooseCandidate('0/3000000', [{ host: 'db2', lsn: '' }], { maxLagBytes: MIB }))
  assert.match(e.message, /no standby says how much WAL it received: db2: no answer; nothing was promoted/)
})

test('above the bound: abort, saying how far behind and naming the option that would accept it', () => {
  const e = aborted(() => chooseCandidate('1/0', [{ host: 'db2', lsn: '0/FFEFFFFF' }], { maxLagBytes: MIB }))
  assert.match(e.message, /db2 is 1048577 bytes behind the primary's last position seen \(1\/0\), above the bound of 1048576 bytes/)
  assert.match(e.message, /promoting it loses up to that much; nothing was promoted/)
  assert.match(e.describe(), /-e drill\.maxLagBytes=1048577/)
  // Exactly at the bound is accepted; one byte over is not.
  assert.is(chooseCandidate('1/0', [{ host: 'db2', lsn: '0/FFF00000' }], { maxLagBytes: 1048576 }).lag, 1048576)
})

test('the named standby is promoted even when another received more, within the bound; a name that is not a candidate aborts', () => {
  const seen = [
    { host: 'db2', lsn: '0/3000000' },
    { host: 'db3', lsn: '0/3000100' },
  ]
  assert.is(chooseCandidate('0/3000100', seen, { to: 'db2', maxLagBytes: MIB }).host, 'db2')
  assert.is(chooseCandidate('0/3000100', seen, { to: 'db2', maxLagBytes: MIB }).lag, 256)
  assert.match(aborted(() => chooseCandidate('0/3000100', seen, { to: 'db9', maxLagBytes: MIB })).message, /db9 does not say how much WAL it received/)
  assert.match(aborted(() => chooseCandidate('0/3000100', seen, { to: 'db2', maxLagBytes: 100 })).message, /db2 is 256 bytes behind/)
})

test('drill.maxLagBytes: 1 MiB unless given; a bound that is not a whole number of bytes is refused, not guessed', () => {
  assert.is(lagBound(undefined), MIB)
  assert.is(lagBound(0), 0)
  assert.is(lagBound(64 * MIB), 64 * MIB)
  for (const bad of [-1, 1.5, '1048576', null, Number.POSITIVE_INFINITY]) assert.throws(() => lagBound(bad), (e: unknown) => e instanceof ConfigError && /drill\.maxLagBytes must be a number of bytes/.test((e as Error).message))
})

test.run()
