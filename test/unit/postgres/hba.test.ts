import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hbaAddress, hbaRules, type HbaRule } from '../../../roles/postgres/hba.ts'

const address = suite('hbaAddress')

const good: [string, string][] = [
  ['10.0.0.5', '10.0.0.5/32'],
  ['10.0.0.0/24', '10.0.0.0/24'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  [' 10.0.0.5 ', '10.0.0.5/32'],
  ['::1', '::1/128'],
  ['fd00::/8', 'fd00::/8'],
  ['2001:db8::1/128', '2001:db8::1/128'],
  ['all', 'all'],
  ['samehost', 'samehost'],
  ['samenet', 'samenet'],
]
for (const [input, expected] of good)
  address(`${JSON.stringify(input)} -> ${expected}`, () => {
    assert.is(hbaAddress(input), expected)
  })

const bad: [string, RegExp][] = [
  ['db1', /host names are not accepted/],
  ['db1.example.com', /host names are not accepted/],
  ['10.0.0.0/33', /bad prefix length \(0 to 32\)/],
  ['::/129', /bad prefix length \(0 to 128\)/],
  ['10.0.0.0/x', /bad prefix length/],
  ['10.0.0.0/', /bad prefix length/],
  ['1.2.3.4/8/9', /not an address, a CIDR range/],
  ['', /not an address/],
  ['/24', /not an address/],
  ['10.0.0.256', /not an IPv4 or IPv6 address/],
]
for (const [input, message] of bad)
  address(`${JSON.stringify(input)} is refused`, () => {
    assert.throws(() => hbaAddress(input), (e: unknown) => e instanceof Error && message.test(e.message) && e.message.includes(`'${input}'`))
  })

address.run()

const rules = suite('hbaRules')

const BASE: HbaRule[] = [
  { type: 'local', database: 'all', user: 'postgres', address: '', method: 'peer' },
  { type: 'local', database: 'all', user: 'all', address: '', method: 'peer' },
  { type: 'host', database: 'all', user: 'all', address: '127.0.0.1/32', method: 'scram-sha-256' },
  { type: 'host', database: 'all', user: 'all', address: '::1/128', method: 'scram-sha-256' },
  { type: 'local', database: 'replication', user: 'all', address: '', method: 'peer' },
]

rules('local peer rules first, then one replication rule per address, then one client rule per address', () => {
  const r = hbaRules({
    replicationUser: 'replica',
    replicationFrom: ['10.0.0.5', '10.0.0.6'],
    clientUser: 'harbor',
    clientDatabases: ['registry', 'notarysigner', 'notaryserver'],
    clientsFrom: ['10.0.1.0/24', 'fd00::/8'],
  })
  assert.equal(r, [
    ...BASE,
    { type: 'host', database: 'replication', user: 'replica', address: '10.0.0.5/32', method: 'scram-sha-256' },
    { type: 'host', database: 'replication', user: 'replica', address: '10.0.0.6/32', method: 'scram-sha-256' },
    { type: 'host', database: 'registry,notarysigner,notaryserver', user: 'harbor', address: '10.0.1.0/24', method: 'scram-sha-256' },
    { type: 'host', database: 'registry,notarysigner,notaryserver', user: 'harbor', address: 'fd00::/8', method: 'scram-sha-256' },
  ])
})

rules('no databases: no client rule at all (never a rule for every database)', () => {
  const r = hbaRules({ replicationUser: 'replica', replicationFrom: ['10.0.0.5'], clientUser: 'harbor', clientDatabases: [], clientsFrom: ['10.0.1.0/24'] })
  assert.equal(r, [...BASE, { type: 'host', database: 'replication', user: 'replica', address: '10.0.0.5/32', method: 'scram-sha-256' }])
  assert.not.ok(r.some((x) => x.user === 'harbor'))
})

rules('network rules never use trust or peer; a bad address throws', () => {
  const r = hbaRules({ replicationUser: 'replica', replicationFrom: ['all'], clientUser: 'harbor', clientDatabases: ['registry'], clientsFrom: ['samenet'] })
  assert.ok(r.filter((x) => x.type === 'host').every((x) => x.method === 'scram-sha-256'))
  assert.throws(() => hbaRules({ replicationUser: 'replica', replicationFrom: ['db2'], clientUser: 'harbor', clientDatabases: ['registry'], clientsFrom: [] }), /'db2'/)
})

rules.run()
