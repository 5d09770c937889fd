// keepalived-vip on the hosts of group `keepalived` (Harbor's nodes): one
// virtual address, then a check over the whole group that exactly one node
// holds it. No top-level side effects.
//
// Variables (group_vars/keepalived/main.yml): `keepalived`, the role's options
// (address with prefix, interface, virtualRouterId, and optionally version,
// advertInterval, preemption, health, garp, transport, priority per host...);
// `keepalived_vip_name`, the name clients use for the address (DNS's job; the
// lab writes it into its hosts' /etc/hosts); with VRRPv2 only,
// `keepalived_auth_password` from the vault.
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import { bareAddress, keepalivedPackages, keepalivedVip, vipHeldByOne, type KeepalivedNode, type KeepalivedVipOptions } from '../../roles/keepalived-vip/index.ts'

export interface KeepalivedTier {
  /** The virtual address, without its prefix. */
  address: string
  /** What clients call it: keepalived_vip_name, or the address. */
  name: string
  packages: (h: Host) => Task[]
  /** The role on every played node, then the group's holder check. */
  play: () => Promise<void>
}

type KeepalivedVars = Partial<Omit<KeepalivedVipOptions, 'node' | 'nodes' | 'authentication'>>

export function keepalivedTier(pb: Playbook): KeepalivedTier {
  const group = pb.inventory.select('keepalived')
  if (group.length === 0) throw new ConfigError('group keepalived is empty: the virtual address needs its nodes', { hint: 'list the Harbor nodes under keepalived in the inventory' })
  const nodes: KeepalivedNode[] = group.map((i) => ({ name: i.name, address: typeof i.vars.ansible_host === 'string' ? i.vars.ansible_host : i.name }))
  // Every node's options are built and checked here, before any host is touched (played or not: they must agree).
  const resolved = new Map(
    group.map((i) => {
      const h = pb.host(i.name)
      const v = h.need<KeepalivedVars>('keepalived', 'keepalived-vip')
      const password = h.var<string | undefined>('keepalived_auth_password', undefined)
      return [i.name, keepalivedVip.resolve({ ...(v as KeepalivedVipOptions), node: i.name, nodes, ...(password !== undefined && v.version === 2 ? { authentication: { password } } : {}) })] as const
    }),
  )
  const first = resolved.values().next().value as KeepalivedVipOptions
  for (const [name, o] of resolved)
    for (const k of ['address', 'interface', 'virtualRouterId', 'version', 'advertInterval', 'downTimerAdverts'] as const)
      if (o[k] !== first[k]) throw new ConfigError(`keepalived.${k} differs between ${group[0]?.name} (${String(first[k])}) and ${name} (${String(o[k])}): every node of one virtual router must agree`)
  const address = bareAddress(first.address)
  const name = String(pb.host(group[0]!.name).var<string>('keepalived_vip_name', address))
  const isNode = new Set(group.map((i) => i.name))
  // How long an election may take after a start or a reload: the health check's rise, the master-down timer, and slack.
  const settleMs = Math.max(
    ...[...resolved.values()].map((o) => 1000 * ((o.health === false ? 0 : o.health.rise * o.health.intervalSeconds) + (o.downTimerAdverts + 1) * o.advertInterval) + 5000),
  )
  return {
    address,
    name,
    packages: (h) => (isNode.has(h.name) ? keepalivedPackages() : []),
    play: async () => {
      await pb.play('keepalived: the virtual address', 'keepalived', (h) => keepalivedVip(resolved.get(h.name) as KeepalivedVipOptions))
      // The whole group is asked, played or not: who holds the address is a question about all of them.
      const everyNode = group.map((i) => pb.host(i.name))
      await pb.play(`${address} held by exactly one node`, 'keepalived', () => vipHeldByOne(address, first.interface, everyNode, { settleMs, intervalMs: 250, askTimeoutMs: 5000 }))
    },
  }
}
