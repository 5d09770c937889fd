// keepalived-vip's options: one virtual address shared by a group of nodes
// over VRRP, and the checks that fail, naming the option, before any host is
// touched. Facts (timers, VRRPv3 and authentication, nopreempt, script
// security): ../shared/docs/keepalived-nfs.md, "keepalived".
import { reveal, type Secret } from '../../src/index.ts'

export interface KeepalivedNode {
  /** Inventory name. */
  name: string
  /** The address VRRP adverts come from (unicast_src_ip) and go to (unicast_peer). */
  address: string
}

/**
 * 'nopreempt': the node holding the address keeps it until it fails, even when
 * a higher-priority node comes back (one move per failure, no failback). Every
 * node starts as BACKUP, as keepalived requires for nopreempt.
 * 'preempt': the highest-priority healthy node takes the address back, after
 * `delaySeconds` (keepalived's preempt_delay, 0 to 1000).
 */
export type Preemption = { mode: 'nopreempt' } | { mode: 'preempt'; delaySeconds?: number }

/**
 * The node's health, checked by keepalived (vrrp_script) on the node itself.
 * Harbor's /api/v2.0/health answers HTTP 200 whatever the state: the check
 * reads the body's overall `status`. A node failing it goes to FAULT (weight
 * 0), which also works with nopreempt (lowering a priority would not move the
 * address to a nopreempt backup).
 */
export interface HealthCheck {
  /** Default: Harbor's health API on the node itself, plain HTTP on port 80. */
  url: string
  /** Seconds between checks (whole seconds, keepalived's minimum 1). */
  intervalSeconds: number
  /** Failures in a row before the node gives the address up. */
  fall: number
  /** Successes in a row before it may hold the address again. */
  rise: number
  /** curl's --max-time, in seconds (may be fractional): below `timeoutSeconds`, so a hung Harbor counts as a failure, not a killed script. */
  requestTimeoutSeconds: number
  /** keepalived kills the script after this many whole seconds (its `timeout`). */
  timeoutSeconds: number
}

/** Gratuitous ARP when a node becomes master (keepalived's garp_master_*): the first burst goes out at once. */
export interface Garp {
  /** Seconds after the transition for the second burst (0: none). keepalived's default 5. */
  masterDelay: number
  /** Gratuitous ARPs per burst. keepalived's default 5. */
  masterRepeat: number
  /** Seconds between refreshes while master (0: never, keepalived's default). */
  masterRefresh: number
}

export interface KeepalivedVipOptions {
  /** The virtual address with its prefix length: '10.77.0.100/24'. */
  address: string
  /** The interface that carries it (and the adverts); `keepalived -t` checks it exists on the host. */
  interface: string
  /** VRRP's virtual router id, 1 to 255, unique on the network segment. */
  virtualRouterId: number
  /** This node's inventory name, one of `nodes`. */
  node: string
  /** Every node of the group, in inventory order (priorities and unicast peers default from it). */
  nodes: KeepalivedNode[]
  /** 1 to 254. Default: by inventory order, 150 for the first node, 10 less for each next. */
  priority?: number
  /** 3 (default): sub-second adverts, no authentication. 2: whole-second adverts, optional authentication. */
  version: 2 | 3
  /** Seconds between adverts: VRRPv3 in 0.01 steps (default 0.25), VRRPv2 whole seconds. */
  advertInterval: number
  /** Adverts missed before a backup takes over (keepalived's down_timer_adverts, RFC: 3). Every node must agree. */
  downTimerAdverts: number
  /** VRRPv2 only (refused with 3): keepalived's PASS authentication, at most 8 characters. */
  authentication?: { password: Secret | string } | undefined
  /** 'unicast' (default; works where multicast does not, clouds included): adverts to the other nodes' addresses. */
  transport: 'unicast' | 'multicast'
  /** Unicast peers; default the other nodes' addresses. */
  peers?: string[] | undefined
  preemption: Preemption
  garp: Garp
  /** false: no health check (the address follows keepalived alone). */
  health: HealthCheck | false
  /** Where the notify hook appends each transition: `EPOCH.MS HOST INSTANCE NAME STATE PRIORITY`. */
  transitionLog: string
  /** The vrrp_instance's name (also in the transition log). */
  instanceName: string
}

export const HEALTH_DEFAULTS: HealthCheck = {
  url: 'http://127.0.0.1/api/v2.0/health',
  intervalSeconds: 1,
  fall: 2,
  rise: 2,
  requestTimeoutSeconds: 0.8,
  timeoutSeconds: 1,
}

export const KEEPALIVED_VIP_DEFAULTS = {
  version: 3 as 2 | 3,
  advertInterval: 0.25,
  downTimerAdverts: 3,
  transport: 'unicast' as 'unicast' | 'multicast',
  preemption: { mode: 'nopreempt' } as Preemption,
  garp: { masterDelay: 5, masterRepeat: 5, masterRefresh: 0 } as Garp,
  health: HEALTH_DEFAULTS as HealthCheck | false,
  transitionLog: '/var/log/keepalived-vip/transitions.log',
  instanceName: 'harbor_vip',
}

export type Fail = (option: string, problem: string, hint?: string) => never

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const isIpv4 = (s: string): boolean => {
  const m = IPV4.exec(s)
  return m !== null && m.slice(1).every((o) => Number(o) <= 255)
}

/** The address without its prefix: what `ip addr` shows and clients use. */
export const bareAddress = (cidr: string): string => cidr.split('/')[0] as string

/** The node's priority: given, or by inventory order. */
export function priorityOf(o: Pick<KeepalivedVipOptions, 'priority' | 'node' | 'nodes'>): number {
  if (o.priority !== undefined) return o.priority
  const i = o.nodes.findIndex((n) => n.name === o.node)
  return Math.max(1, 150 - 10 * Math.max(0, i))
}

export function peersOf(o: Pick<KeepalivedVipOptions, 'peers' | 'node' | 'nodes'>): string[] {
  return o.peers ?? o.nodes.filter((n) => n.name !== o.node).map((n) => n.address)
}

export function selfOf(o: Pick<KeepalivedVipOptions, 'node' | 'nodes'>): KeepalivedNode {
  return o.nodes.find((n) => n.name === o.node) as KeepalivedNode
}

/** Whole hundredths: keepalived's VRRPv3 timer unit (centiseconds). */
const inHundredths = (x: number): boolean => Math.abs(Math.round(x * 100) - x * 100) < 1e-9

export function checkKeepalivedOptions(o: KeepalivedVipOptions, fail: Fail): void {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(String(o.address))
  if (!m || !isIpv4(m[1] as string) || Number(m[2]) < 1 || Number(m[2]) > 32) fail('address', `must be an IPv4 address with its prefix length, such as '10.77.0.100/24', got ${JSON.stringify(o.address)}`)
  if (typeof o.interface !== 'string' || !/^[A-Za-z0-9_.:-]{1,15}$/.test(o.interface)) fail('interface', `must be an interface name, got ${JSON.stringify(o.interface)}`)
  if (!Number.isInteger(o.virtualRouterId) || o.virtualRouterId < 1 || o.virtualRouterId > 255) fail('virtualRouterId', `must be a whole number from 1 to 255, got ${JSON.stringify(o.virtualRouterId)}`)
  if (!Array.isArray(o.nodes) || o.nodes.length === 0) fail('nodes', 'must list the group: [{ name, address }]')
  const names = new Set<string>()
  for (const n of o.nodes) {
    if (!isIpv4(n.address)) fail('nodes', `${n.name}'s address ${JSON.stringify(n.address)} is not an IPv4 address (VRRP adverts need one)`)
    if (n.address === bareAddress(o.address)) fail('nodes', `${n.name}'s own address is the virtual address ${n.address}`)
    if (names.has(n.name)) fail('nodes', `${n.name} is listed twice`)
    names.add(n.name)
  }
  if (!names.has(o.node)) fail('node', `${JSON.stringify(o.node)} is not one of nodes (${[...names].join(', ')})`)
  const priority = priorityOf(o)
  // 255 belongs to the address owner, which is always master: never with a shared address.
  if (!Number.isInteger(priority) || priority < 1 || priority > 254) fail('priority', `must be a whole number from 1 to 254 (255 is the address owner's), got ${JSON.stringify(priority)}`)
  if (o.version !== 2 && o.version !== 3) fail('version', `must be 2 or 3, got ${JSON.stringify(o.version)}`)
  if (o.version === 3) {
    if (o.authentication !== undefined)
      fail('authentication', 'VRRPv3 has no authentication: keepalived ignores the block and its config check fails', "drop authentication, or set version: 2 to use it (adverts then in whole seconds)")
    if (!(o.advertInterval >= 0.01 && o.advertInterval <= 40.95 && inHundredths(o.advertInterval)))
      fail('advertInterval', `with VRRPv3 must be 0.01 to 40.95 seconds in 0.01 steps, got ${JSON.stringify(o.advertInterval)}`)
  } else {
    if (!Number.isInteger(o.advertInterval) || o.advertInterval < 1 || o.advertInterval > 255)
      fail('advertInterval', `with VRRPv2 must be whole seconds from 1 to 255, got ${JSON.stringify(o.advertInterval)}`, 'for sub-second adverts use version: 3')
    if (o.authentication !== undefined) {
      const pw = reveal(o.authentication.password)
      if (pw.length === 0 || pw.length > 8 || /[\s"'\\]/.test(pw)) fail('authentication', 'password must be 1 to 8 characters without spaces, quotes or backslashes (keepalived cuts PASS at 8)')
    }
  }
  if (!Number.isInteger(o.downTimerAdverts) || o.downTimerAdverts < 1 || o.downTimerAdverts > 100) fail('downTimerAdverts', `must be a whole number from 1 to 100, got ${JSON.stringify(o.downTimerAdverts)}`)
  if (o.transport !== 'unicast' && o.transport !== 'multicast') fail('transport', `must be 'unicast' or 'multicast', got ${JSON.stringify(o.transport)}`)
  if (o.transport === 'multicast' && o.peers !== undefined) fail('peers', "are unicast peers: with transport 'multicast' leave them out")
  if (o.transport === 'unicast') {
    const peers = peersOf(o)
    if (peers.length === 0) fail('peers', 'unicast needs at least one peer: the group has no other node', 'list the other nodes, or use transport: multicast')
    for (const p of peers) if (!isIpv4(p)) fail('peers', `${JSON.stringify(p)} is not an IPv4 address`)
    if (peers.includes(selfOf(o).address)) fail('peers', `include this node's own address ${selfOf(o).address}`)
  }
  const p = o.preemption
  if (p?.mode !== 'nopreempt' && p?.mode !== 'preempt') fail('preemption', `must be { mode: 'nopreempt' } or { mode: 'preempt', delaySeconds? }, got ${JSON.stringify(p)}`)
  if (p.mode === 'preempt' && p.delaySeconds !== undefined && !(p.delaySeconds >= 0 && p.delaySeconds <= 1000)) fail('preemption', `delaySeconds must be 0 to 1000, got ${JSON.stringify(p.delaySeconds)}`)
  if (typeof o.garp !== 'object' || o.garp === null) fail('garp', `must be { masterDelay, masterRepeat, masterRefresh }, got ${JSON.stringify(o.garp)}`)
  for (const k of ['masterDelay', 'masterRepeat', 'masterRefresh'] as const)
    if (!Number.isInteger(o.garp?.[k]) || (o.garp[k] as number) < 0) fail('garp', `${k} must be a whole number, 0 or more, got ${JSON.stringify(o.garp?.[k])}`)
  if (o.health !== false && (typeof o.health !== 'object' || o.health === null))
    fail('health', `must be the check's settings or false (no check), got ${JSON.stringify(o.health)}`)
  if (o.health !== false) {
    const h = o.health
    if (typeof h.url !== 'string' || !/^https?:\/\/[^\s"']+$/.test(h.url)) fail('health', `url must be an http(s) URL without spaces or quotes, got ${JSON.stringify(h.url)}`)
    for (const k of ['intervalSeconds', 'fall', 'rise', 'timeoutSeconds'] as const)
      if (!Number.isInteger(h[k]) || h[k] < 1) fail('health', `${k} must be a whole number, 1 or more (keepalived counts whole seconds), got ${JSON.stringify(h[k])}`)
    if (!(h.requestTimeoutSeconds > 0 && h.requestTimeoutSeconds < h.timeoutSeconds))
      fail('health', `requestTimeoutSeconds (${h.requestTimeoutSeconds}) must be above 0 and below timeoutSeconds (${h.timeoutSeconds})`, 'curl must give up before keepalived kills the script, or a hung Harbor is logged as a script timeout')
  }
  if (typeof o.transitionLog !== 'string' || !/^\/[^\s"']+$/.test(o.transitionLog)) fail('transitionLog', `must be an absolute path without spaces or quotes, got ${JSON.stringify(o.transitionLog)}`)
  if (!/^[A-Za-z0-9_-]+$/.test(o.instanceName)) fail('instanceName', `must be letters, digits, _ or -, got ${JSON.stringify(o.instanceName)}`)
}
