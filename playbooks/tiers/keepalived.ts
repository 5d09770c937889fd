// keepalived-vip on the hosts of group `keepalived` (Harbor's nodes): one
// virtual address, then a check over the whole group that exactly one node
// holds it. No top-level side effects.
//
// Variables (group_vars/keepalived/main.yml): `keepalived`, the role's options
// (address with prefix, interface, virtualRouterId, and optionally version,
// advertInterval, preemption, health, garp, transport, priority per host...;
// `health` and `garp` may give only the fields they change);
// `keepalived_vip_name`, the name clients use for the address (DNS's job; the
// lab writes it into its hosts' /etc/hosts); `keepalived_address` per host,
// the address its adverts come from (default ansible_host); with VRRPv2 only,
// `keepalived_auth_password` from the vault.
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import {
  bareAddress,
  HEALTH_DEFAULTS,
  keepalivedPackages,
  keepalivedVip,
  priorityOf,
  vipHeldByOne,
  type Garp,
  type HealthCheck,
  type KeepalivedNode,
  type KeepalivedVipOptions,
} from '../../roles/keepalived-vip/index.ts'
import { KEEPALIVED_VIP_DEFAULTS } from '../../roles/keepalived-vip/options.ts'

type KeepalivedVars = Partial<Omit<KeepalivedVipOptions, 'node' | 'nodes' | 'authentication' | 'health' | 'garp'>> & {
  health?: Partial<HealthCheck> | false
  garp?: Partial<Garp>
}

/** What a node's adverts come from: keepalived_address, or its inventory address when that is an IPv4 address. */
function vrrpAddress(h: Host): string {
  const given = h.var<string | undefined>('keepalived_address', undefined)
  const address = given ?? h.address
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(String(address)))
    throw new ConfigError(`host ${h.name}: its VRRP address ${JSON.stringify(address)} is not an IPv4 address`, {
      hint: `set keepalived_address (the node's IPv4 address on the virtual address's network) in host_vars/${h.name}.yml`,
    })
  return String(address)
}

/** The names of every node of group keepalived, played or not (--limit), in inventory order; never none. */
function keepalivedGroup(pb: Playbook): [string, ...string[]] {
  const [first, ...rest] = pb.inventory.select('keepalived').map((i) => i.name)
  if (first === undefined) throw new ConfigError('group keepalived is empty: the virtual address needs its nodes', { hint: 'list the Harbor nodes under keepalived in the inventory' })
  return [first, ...rest]
}

/** The name clients use for the address: keepalived_vip_name, or the address itself. */
export function vipName(pb: Playbook): string {
  const h = pb.host(keepalivedGroup(pb)[0])
  const name = h.var<string | undefined>('keepalived_vip_name', undefined)
  return name ?? bareAddress(String(h.need<KeepalivedVars>('keepalived', 'keepalived-vip').address ?? ''))
}

export interface KeepalivedTierOptions {
  /** The health API a node's check asks by default: its own Harbor's (HTTPS when it has it). */
  healthUrl?: (node: string) => string | undefined
}

export interface KeepalivedTier {
  /** The virtual address, without its prefix. */
  address: string
  /** The nodes' packages, for a playbook's packages play; none for other hosts. */
  packages: (h: Host) => Task[]
  /** The role on every played node, then the group's holder check. */
  play: () => Promise<void>
}

/** Build and check every node's options (played or not: they must agree), before any host is touched. */
export function keepalivedTier(pb: Playbook, o: KeepalivedTierOptions = {}): KeepalivedTier {
  const group = keepalivedGroup(pb)
  const nodes: KeepalivedNode[] = group.map((name) => ({ name, address: vrrpAddress(pb.host(name)) }))
  const resolved = new Map(
    group.map((name) => {
      const h = pb.host(name)
      const v = h.need<KeepalivedVars>('keepalived', 'keepalived-vip')
      const password = h.var<string | undefined>('keepalived_auth_password', undefined)
      const url = o.healthUrl?.(name)
      const health: HealthCheck | false = v.health === false ? false : { ...HEALTH_DEFAULTS, ...(url !== undefined ? { url } : {}), ...(v.health ?? {}) }
      const options = {
        ...(v as Omit<KeepalivedVipOptions, 'node' | 'nodes'>),
        health,
        garp: { ...KEEPALIVED_VIP_DEFAULTS.garp, ...(v.garp ?? {}) },
        node: name,
        nodes,
        ...(password !== undefined && v.version === 2 ? { authentication: { password } } : {}),
      }
      return [name, keepalivedVip.resolve(options)] as const
    }),
  )
  const [firstName, first] = [...resolved][0] as [string, KeepalivedVipOptions]
  // One virtual router: every node must speak the same VRRP over the same transport, and no two may tie.
  for (const [name, n] of resolved)
    for (const k of ['address', 'interface', 'virtualRouterId', 'version', 'advertInterval', 'downTimerAdverts', 'transport'] as const)
      if (n[k] !== first[k]) throw new ConfigError(`keepalived.${k} differs between ${firstName} (${String(first[k])}) and ${name} (${String(n[k])}): every node of one virtual router must agree`)
  const byPriority = new Map<number, string>()
  for (const [name, n] of resolved) {
    const p = priorityOf(n)
    const tie = byPriority.get(p)
    if (tie !== undefined) throw new ConfigError(`keepalived: ${tie} and ${name} both have priority ${p}`, { hint: 'give each node its own priority (or leave priority out: it follows inventory order)' })
    byPriority.set(p, name)
  }
  const address = bareAddress(first.address)
  // How long an election may take after a start or a reload: the health check's rise, the master-down timer, and slack.
  const settleMs = Math.max(
    ...[...resolved.values()].map((n) => 1000 * ((n.health === false ? 0 : n.health.rise * n.health.intervalSeconds) + (n.downTimerAdverts + 1) * n.advertInterval) + 5000),
  )
  return {
    address,
    packages: (h) => (resolved.has(h.name) ? keepalivedPackages() : []),
    play: async () => {
      await pb.play('keepalived: the virtual address', 'keepalived', (h) => keepalivedVip(resolved.get(h.name) as KeepalivedVipOptions))
      // The whole group is asked, played or not: who holds the address is a question about all of them.
      const everyNode = group.map((name) => pb.host(name))
      await pb.play(`${address} held by exactly one node`, 'keepalived', () => vipHeldByOne(address, first.interface, everyNode, { settleMs, intervalMs: 250, askTimeoutMs: 5000 }))
    },
  }
}
