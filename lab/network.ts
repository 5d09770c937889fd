// The lab's network on this machine: one bridge per lab holding the subnet's
// first address, and one veth per host (systemd-nspawn's --network-bridge makes
// it; the host's end is `host0`). Partitioning a host takes the machine's end
// of its veth down: the host loses carrier, nothing crosses in either direction.
import { LabError } from './errors.ts'
import { ipToInt, type LabConfig } from './lab-config.ts'
import { run } from './proc.ts'

/** The bridge's alias marks it as this lab's, so `down` never deletes a bridge it did not make. */
export const bridgeAlias = (labName: string): string => `berth-lab:${labName}`

interface IpLink {
  ifindex: number
  ifname: string
  link_index?: number
  master?: string
  flags?: string[]
  operstate?: string
  ifalias?: string
}

interface IpAddrInfo {
  family: string
  local: string
  prefixlen: number
}
interface IpAddr {
  ifname: string
  addr_info?: IpAddrInfo[]
}

async function ipJson<T>(args: string[]): Promise<T[]> {
  const r = await run('ip', ['-j', ...args], { allowFail: true })
  if (r.code !== 0 || r.stdout.trim() === '') return []
  return JSON.parse(r.stdout) as T[]
}

export async function linkInfo(name: string): Promise<IpLink | undefined> {
  const links = await ipJson<IpLink>(['-d', 'link', 'show', 'dev', name])
  return links[0]
}

/** Networks overlap when either holds the other's first address at the shorter prefix. */
function overlaps(a: string, aPrefix: number, b: string, bPrefix: number): boolean {
  const ai = ipToInt(a)
  const bi = ipToInt(b)
  if (ai === undefined || bi === undefined) return false
  const p = Math.min(aPrefix, bPrefix)
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0
  return ((ai & mask) >>> 0) === ((bi & mask) >>> 0)
}

/** Create the lab bridge if needed (idempotent), refusing a bridge or subnet that belongs to someone else. */
export async function ensureBridge(config: LabConfig): Promise<void> {
  const existing = await linkInfo(config.bridge)
  if (existing && existing.ifalias !== bridgeAlias(config.name))
    throw new LabError(`interface ${config.bridge} already exists on this machine and is not lab ${config.name}'s bridge`, {
      hint: `choose another lab.bridge in ${config.inventoryPath}, or remove it if it is a leftover: ip link del ${config.bridge}`,
    })
  // Another interface in (or overlapping) our subnet would make the lab's addresses ambiguous.
  for (const link of await ipJson<IpAddr>(['-4', 'addr', 'show'])) {
    if (link.ifname === config.bridge) continue
    for (const a of link.addr_info ?? [])
      if (a.family === 'inet' && overlaps(a.local, a.prefixlen, config.subnet.gateway, config.subnet.prefix))
        throw new LabError(`lab.subnet ${config.subnet.cidr} overlaps ${a.local}/${a.prefixlen} on interface ${link.ifname}`, {
          hint: `another lab or network uses it: pick another lab.subnet in ${config.inventoryPath}`,
        })
  }
  if (!existing) {
    await run('ip', ['link', 'add', config.bridge, 'type', 'bridge', 'stp_state', '0'])
    await run('ip', ['link', 'set', 'dev', config.bridge, 'alias', bridgeAlias(config.name)])
  }
  const addrs = await ipJson<IpAddr>(['-4', 'addr', 'show', 'dev', config.bridge])
  const want = config.subnet.gateway
  if (!addrs.some((l) => (l.addr_info ?? []).some((a) => a.local === want)))
    await run('ip', ['addr', 'add', `${want}/${config.subnet.prefix}`, 'dev', config.bridge])
  await run('ip', ['link', 'set', 'dev', config.bridge, 'up'])
}

/** Delete a bridge if (and only if) it carries this lab's alias. Deleting it also drops every veth still attached. */
export async function removeBridge(bridge: string, labName: string): Promise<boolean> {
  const link = await linkInfo(bridge)
  if (!link || link.ifalias !== bridgeAlias(labName)) return false
  await run('ip', ['link', 'del', 'dev', bridge], { allowFail: true })
  return true
}

/** Veths still attached to the lab bridge (the tests check none is left). */
export async function bridgePorts(bridge: string): Promise<string[]> {
  return (await ipJson<IpLink>(['link', 'show', 'master', bridge])).map((l) => l.ifname)
}

/**
 * The machine's end of a host's veth: the interface whose index `host0`
 * inside the host names as its peer. Asked from inside the host's network
 * namespace, because systemd-nspawn shortens long names with a hash.
 */
export async function hostVeth(initPid: number, iface: string): Promise<IpLink | undefined> {
  const r = await run('nsenter', ['--target', String(initPid), '--net', 'ip', '-j', 'link', 'show', 'dev', iface], { allowFail: true })
  if (r.code !== 0) return undefined
  const inner = (JSON.parse(r.stdout) as IpLink[])[0]
  if (inner?.link_index === undefined) return undefined
  const all = await ipJson<IpLink>(['link', 'show'])
  return all.find((l) => l.ifindex === inner.link_index)
}

export async function setLink(name: string, state: 'up' | 'down'): Promise<void> {
  await run('ip', ['link', 'set', 'dev', name, state])
}

export const isLinkUp = (link: IpLink): boolean => (link.flags ?? []).includes('UP')

