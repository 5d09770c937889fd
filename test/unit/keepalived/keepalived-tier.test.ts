// The keepalived tier refuses, before any host is touched, a group that cannot
// form one virtual router: nodes that disagree on the transport, two nodes on
// one priority, a node whose VRRP address is a name; and it fills the parts of
// `health` and `garp` an inventory leaves out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { stringify } from 'yaml'
import { keepalivedTier, vipName } from '../../../playbooks/tiers/keepalived.ts'
import { runPlaybook } from '../../support/playbook-run.ts'

const dir = mkdtempSync(join(tmpdir(), 'berth-keepalived-tier-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/** An inventory of two nodes (no host is ever contacted: the tier refuses or builds only). */
function inventory(groupVars: Record<string, unknown>, h1: Record<string, unknown> = {}, h2: Record<string, unknown> = {}): string {
  const file = join(dir, `inv-${n++}.yml`)
  const keepalived = { address: '10.9.0.100/24', interface: 'eth0', virtualRouterId: 7, ...groupVars }
  writeFileSync(file, stringify({ all: { children: { keepalived: { hosts: { h1: { ansible_host: '10.9.0.1', ...h1 }, h2: { ansible_host: '10.9.0.2', ...h2 } }, vars: { keepalived } } } } }))
  return file
}

const refusal = async (file: string): Promise<string> => {
  const r = await runPlaybook(['-i', file], async (pb) => void keepalivedTier(pb))
  // A configuration error: exit 1, as ansible-playbook exits on a bad playbook, before any host.
  assert.is(r.code, 1, r.out + r.err)
  return r.err
}

test('nodes on different transports are refused (they would never hear each other)', async () => {
  const err = await refusal(inventory({}, {}, { keepalived: { address: '10.9.0.100/24', interface: 'eth0', virtualRouterId: 7, transport: 'multicast' } }))
  assert.match(err, /keepalived\.transport differs between h1 \(unicast\) and h2 \(multicast\)/)
})

test('two nodes on one priority are refused, saying what to do', async () => {
  const err = await refusal(inventory({ priority: 100 }))
  assert.match(err, /h1 and h2 both have priority 100/)
  assert.match(err, /give each node its own priority/)
})

test('a node whose address is a name needs keepalived_address', async () => {
  const err = await refusal(inventory({}, { ansible_host: 'h1.example.internal' }))
  assert.match(err, /host h1: its VRRP address "h1\.example\.internal" is not an IPv4 address/)
  assert.match(err, /set keepalived_address/)
  // Given, it is used as the adverts' source.
  const r = await runPlaybook(['-i', inventory({}, { ansible_host: 'h1.example.internal', keepalived_address: '10.9.0.1' })], async (pb) => void keepalivedTier(pb))
  assert.is(r.code, 0, r.err)
})

test("health and garp may give only what they change; the rest is the role's default; the name defaults to the address", async () => {
  let name = ''
  const r = await runPlaybook(['-i', inventory({ health: { fall: 3 }, garp: { masterDelay: 1 } })], async (pb) => {
    keepalivedTier(pb, { healthUrl: () => 'https://127.0.0.1:8443/api/v2.0/health' })
    name = vipName(pb)
  })
  assert.is(r.code, 0, r.err)
  assert.is(name, '10.9.0.100')
  // YAML's `health: ~` is no setting at all: the defaults.
  assert.is((await runPlaybook(['-i', inventory({ health: null })], async (pb) => void keepalivedTier(pb))).code, 0)
  // A wrong field is still named.
  assert.match(await refusal(inventory({ health: { fall: 0 } })), /option 'health' fall must be a whole number, 1 or more/)
})

test.run()
