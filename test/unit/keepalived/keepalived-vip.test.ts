// keepalived-vip as tables: options refused by name before any host, the
// rendered keepalived.conf for each policy, start/reload from the recorded
// checksum, and the group's verdict from each node's addresses.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { renderKeepalivedConf, KEEPALIVED_CONF } from '../../../roles/keepalived-vip/config.ts'
import { keepalivedVip, KEEPALIVED_VALIDATE } from '../../../roles/keepalived-vip/index.ts'
import { parseInterfaceAddresses, vipVerdict, type HolderReading, type VipVerdict } from '../../../roles/keepalived-vip/holders.ts'
import { checkKeepalivedOptions, KEEPALIVED_VIP_DEFAULTS, type KeepalivedVipOptions } from '../../../roles/keepalived-vip/options.ts'
import { applyKeepalived, parseKeepalivedState, planKeepalived, type KeepalivedState } from '../../../roles/keepalived-vip/service.ts'
import { secret, type ContentPlan } from '../../../src/index.ts'
import { factValues } from '../../../src/facts/fact.ts'
import { writeOf } from '../../support/plans.ts'
import { optionFailure } from '../../support/option-failure.ts'

const nodes = [
  { name: 'harbor1', address: '10.77.0.21' },
  { name: 'harbor2', address: '10.77.0.22' },
]
const base = (o: Partial<KeepalivedVipOptions> = {}): KeepalivedVipOptions => ({
  ...KEEPALIVED_VIP_DEFAULTS,
  address: '10.77.0.100/24',
  interface: 'host0',
  virtualRouterId: 51,
  node: 'harbor1',
  nodes,
  ...o,
})
/** The file's settings: its lines without comments. */
const settings = (conf: string): string[] => conf.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const failure = (o: KeepalivedVipOptions): string | undefined => optionFailure((fail) => checkKeepalivedOptions(o, fail))

test('the defaults pass: VRRPv3, 0.25 s adverts, unicast to the other node, nopreempt, the health body checked', () => {
  assert.is(failure(base()), undefined)
})

const refused: [string, Partial<KeepalivedVipOptions>, RegExp][] = [
  ['authentication with VRRPv3, by name', { authentication: { password: 'secret1' } }, /option 'authentication' VRRPv3 has no authentication/],
  ['a fractional advert with VRRPv2', { version: 2, advertInterval: 0.5 }, /option 'advertInterval' with VRRPv2 must be whole seconds/],
  ['an advert below 10 ms steps with VRRPv3', { advertInterval: 0.255 }, /option 'advertInterval' with VRRPv3 must be 0\.01 to 40\.95 seconds in 0\.01 steps/],
  ["priority 255 (the address owner's)", { priority: 255 }, /option 'priority' must be a whole number from 1 to 254/],
  ['an address without its prefix', { address: '10.77.0.100' }, /option 'address' must be an IPv4 address with its prefix length/],
  ['a node not in the group', { node: 'harbor3' }, /option 'node' "harbor3" is not one of nodes/],
  ['the virtual address as a node address', { nodes: [{ name: 'harbor1', address: '10.77.0.100' }, nodes[1]!] }, /option 'nodes' harbor1's own address is the virtual address/],
  ['unicast with nobody to talk to', { nodes: [nodes[0]!] }, /option 'peers' unicast needs at least one peer/],
  ['its own address among the peers', { peers: ['10.77.0.21', '10.77.0.22'] }, /option 'peers' include this node's own address 10\.77\.0\.21/],
  ['peers with multicast', { transport: 'multicast', peers: ['10.77.0.22'] }, /option 'peers' are unicast peers/],
  ['a VRRPv2 password keepalived would cut', { version: 2, advertInterval: 1, authentication: { password: 'longer-than-8' } }, /option 'authentication' password must be 1 to 8 characters/],
  ['curl allowed as long as keepalived waits', { health: { ...KEEPALIVED_VIP_DEFAULTS.health as Exclude<KeepalivedVipOptions['health'], false>, requestTimeoutSeconds: 1 } }, /option 'health' requestTimeoutSeconds \(1\) must be above 0 and below timeoutSeconds \(1\)/],
  ['a fractional health interval', { health: { ...KEEPALIVED_VIP_DEFAULTS.health as Exclude<KeepalivedVipOptions['health'], false>, intervalSeconds: 0.5 } }, /option 'health' intervalSeconds must be a whole number/],
  ['a preempt delay out of range', { preemption: { mode: 'preempt', delaySeconds: 2000 } }, /option 'preemption' delaySeconds must be 0 to 1000/],
  ['health given as null to the role', { health: null as never }, /option 'health' must be the check's settings or false \(no check\), got null/],
  ['a transition log with a space', { transitionLog: '/var/log/my log' }, /option 'transitionLog' must be an absolute path/],
]
for (const [name, o, message] of refused)
  test(`refused: ${name}`, () => {
    const f = failure(base(o))
    assert.ok(f, 'refused')
    assert.match(f as string, message)
  })

test('the role refuses before building any task: a RoleOptionError naming keepalived-vip and the option', () => {
  assert.throws(() => keepalivedVip(base({ authentication: { password: 'x' } })), /keepalived-vip.*authentication/s)
})

test('rendered (defaults): every node BACKUP with nopreempt, v3 at 0.25 s, unicast to the other node, the health body tracked with weight 0', () => {
  const conf = renderKeepalivedConf(base())
  for (const line of [
    'state BACKUP',
    'priority 150',
    'version 3',
    'advert_int 0.25',
    'down_timer_adverts 3',
    'nopreempt',
    'unicast_src_ip 10.77.0.21',
    'unicast_fault_no_peer',
    '10.77.0.100/24 dev host0',
    'script "/etc/keepalived/berth/berth-vip-health http://127.0.0.1/api/v2.0/health 0.8"',
    'weight 0',
    'init_fail',
    'script_user root',
    'enable_script_security',
    'notify "/etc/keepalived/berth/berth-vip-notify /var/log/keepalived-vip/transitions.log"',
  ])
    assert.ok(conf.includes(line), `has: ${line}\n${conf}`)
  assert.match(conf, /unicast_peer \{\n\s+10\.77\.0\.22\n\s+\}/)
  assert.match(conf, /track_script \{\n\s+berth_node_health\n\s+\}/)
  for (const absent of ['authentication', 'preempt_delay', 'state MASTER', 'vrrp_strict']) assert.not.ok(settings(conf).some((l) => l.startsWith(absent)), `has no ${absent}`)
})

test('rendered: priorities by inventory order, the second node 10 lower and peering with the first', () => {
  const conf = renderKeepalivedConf(base({ node: 'harbor2' }))
  assert.ok(conf.includes('priority 140'))
  assert.ok(conf.includes('unicast_src_ip 10.77.0.22'))
  assert.match(conf, /unicast_peer \{\n\s+10\.77\.0\.21\n/)
})

test('rendered: preempt with a delay, VRRPv2 with its password, multicast, no health check', () => {
  const conf = renderKeepalivedConf(
    base({ preemption: { mode: 'preempt', delaySeconds: 30 }, version: 2, advertInterval: 1, authentication: { password: secret('pw123456') }, transport: 'multicast', health: false }),
  )
  assert.ok(settings(conf).includes('preempt_delay 30'))
  assert.not.ok(settings(conf).includes('nopreempt'))
  assert.match(conf, /authentication \{\n\s+auth_type PASS\n\s+auth_pass pw123456\n/)
  for (const absent of ['unicast_peer', 'unicast_src_ip', 'vrrp_script', 'track_script']) assert.not.ok(settings(conf).some((l) => l.startsWith(absent)), `has no ${absent}`)
})

test('the file carrying a VRRPv2 password is written 0640 and shown in no diff; every file is checked by keepalived -t -f on the candidate', () => {
  const writeOfConf = (o: KeepalivedVipOptions) => {
    const t = keepalivedVip(o).tasks.find((t) => t.name.includes(`${KEEPALIVED_CONF} (checked by keepalived -t first)`))
    assert.ok(t, 'a task writes keepalived.conf')
    const plan = t!.resource.plan(factValues([[t!.resource.facts()[0]!, { exists: false }]])) as ContentPlan
    return { plan, write: writeOf(plan) }
  }
  const withPassword = writeOfConf(base({ version: 2, advertInterval: 1, authentication: { password: secret('pw123456') } }))
  assert.is(withPassword.write?.mode, '0640')
  assert.is(withPassword.plan.diff, undefined)
  assert.is(withPassword.write?.validate, KEEPALIVED_VALIDATE)
  const plain = writeOfConf(base())
  assert.is(plain.write?.mode, '0644')
  assert.is(plain.write?.validate, 'keepalived -t -f %s')
})

const state = (o: Partial<KeepalivedState>): KeepalivedState => ({ applied: '1 f\nabc  f', current: '1 f\nabc  f', active: true, ...o })
const plans: [string, Partial<KeepalivedState>, 'start' | 'reload' | undefined][] = [
  ['running what was applied', {}, undefined],
  ['not running', { active: false }, 'start'],
  ['not running and never applied (a fresh host)', { active: false, applied: undefined }, 'start'],
  ['the file changed since it was applied', { current: '1 f\ndef  f' }, 'reload'],
  ['the file written again with the same content (a new inode)', { current: '2 f\nabc  f' }, 'reload'],
  ['running a file it was never started with by berth', { applied: undefined }, 'reload'],
]
for (const [name, s, mode] of plans)
  test(`keepalived ${name}: ${mode ?? 'nothing'} (never a restart)`, () => {
    assert.is(planKeepalived(state(s)).mode, mode)
  })

test('keepalived state: the record, the file now, and whether it runs', () => {
  assert.equal(parseKeepalivedState({ stdout: '1 f\nabc  f\n--berth--\n2 f\nabc  f\n--berth--\nactive\n' }), { applied: '1 f\nabc  f', current: '2 f\nabc  f', active: true })
  assert.equal(parseKeepalivedState({ stdout: '--berth--\n--berth--\ninactive\n' }), { applied: undefined, current: '', active: false })
  // One step a line, each exiting on its own failure and naming its step; the record comes last.
  const lines = applyKeepalived('reload').text.split('\n')
  assert.match(lines[0] as string, /^systemctl reload keepalived \|\| \{ echo "systemctl reload keepalived failed:" >&2; journalctl .*; exit 1; \}$/)
  assert.match(lines[2] as string, /^systemctl is-active --quiet keepalived \|\| \{ echo "keepalived is not running after reload:" >&2; .*exit 1; \}$/)
  assert.match(lines.at(-1) as string, /> \/var\/lib\/berth\/keepalived\/applied$/)
})

test('interface addresses: the virtual address is seen among the others, prefixes dropped', () => {
  const out = '2: host0    inet 10.77.0.21/24 brd 10.77.0.255 scope global host0\\       valid_lft forever\n2: host0    inet 10.77.0.100/24 scope global secondary host0\\       valid_lft forever\n'
  assert.equal(parseInterfaceAddresses({ stdout: out }), ['10.77.0.21', '10.77.0.100'])
  assert.equal(parseInterfaceAddresses({ stdout: '' }), [])
})

const verdicts: [string, HolderReading[], VipVerdict['kind'], RegExp][] = [
  ['one holder', [{ host: 'harbor1', held: true }, { host: 'harbor2', held: false }], 'one', /^10\.77\.0\.100 is held by harbor1 alone \(asked harbor1 and harbor2\)$/],
  ['none: an outage', [{ host: 'harbor1', held: false }, { host: 'harbor2', held: false }], 'none', /^outage: no node holds 10\.77\.0\.100 \(asked harbor1 and harbor2\)$/],
  ['two: split brain', [{ host: 'harbor1', held: true }, { host: 'harbor2', held: true }], 'split', /^split brain: 10\.77\.0\.100 is held by harbor1 and harbor2 at once$/],
  [
    'one holder, the other not asked (it may hold it too)',
    [{ host: 'harbor1', unreachable: 'connect ETIMEDOUT' }, { host: 'harbor2', held: true }],
    'unknown',
    /^cannot tell whether exactly one node holds 10\.77\.0\.100: harbor2 holds it; not asked: harbor1 \(connect ETIMEDOUT\), and it may hold it too$/,
  ],
  ['nobody reachable', [{ host: 'harbor1', unreachable: 'x' }, { host: 'harbor2', unreachable: 'y' }], 'unknown', /no node asked holds it \(asked none\); not asked: harbor1 \(x\), harbor2 \(y\), and they may hold it too$/],
  ['two holders and one not asked: split brain whatever the third', [{ host: 'a', held: true }, { host: 'b', held: true }, { host: 'c', unreachable: 'x' }], 'split', /held by a and b at once; not asked: c \(x\)/],
  ['three of three', ['a', 'b', 'c'].map((host) => ({ host, held: true })), 'split', /held by a, b and c at once/],
]
for (const [name, readings, kind, message] of verdicts)
  test(`verdict, ${name}: ${kind}`, () => {
    const v = vipVerdict('10.77.0.100', readings)
    assert.is(v.kind, kind)
    assert.match(v.message, message)
    assert.is(v.hint === undefined, kind === 'one')
  })

test.run()
