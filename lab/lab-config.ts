// The lab's view of inventory/lab.yml: the one list of lab hosts, their groups
// and addresses, plus the lab settings under `all.vars.lab`. Playbooks read the
// same file through the engine's inventory; nothing here keeps a second copy.
//
// Only the parts of Ansible's YAML layout the lab needs are read: `all`,
// nested `children`, `hosts` with `ansible_host`, and `vars`. Variables the
// engine resolves (precedence, vault) are not the lab's business, except
// `lab_data_dirs`, collected from `vars` at every level and from group_vars/
// and host_vars/ files beside the inventory, and `lab_shared_dirs`, read from a
// group's `vars` in the inventory itself.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parse } from 'yaml'
import { LabError } from './errors.ts'

/** Lab state lives here, one directory per lab name; never in the repository. */
export const STATE_ROOT = '/var/lib/berth-lab'

export interface Subnet {
  /** As written: `10.77.0.0/24`. */
  cidr: string
  network: number
  prefix: number
  /** The bridge's own address (the first usable one), e.g. 10.77.0.1. */
  gateway: string
}

export interface LabHost {
  name: string
  address: string
  groups: string[]
  /**
   * Paths inside the host that are bound from a real directory on the machine
   * instead of living in the overlay root: nfs-ganesha needs file handles and
   * docker's overlay2 needs a non-overlay backing file system.
   */
  dataDirs: string[]
  /**
   * Paths bound from ONE directory on the machine into every host of a group
   * (`lab_shared_dirs` in the group's vars): the storage a platform shares
   * between nodes, such as Harbor's data volume when it is not on NFS.
   */
  sharedDirs: SharedDir[]
  /**
   * System calls allowed beyond systemd-nspawn's default filter (`lab_system_calls`
   * in a group's vars): nfs-ganesha's VFS backend needs open_by_handle_at.
   */
  systemCalls: string[]
}

export interface SharedDir {
  path: string
  /** The group whose hosts share it. */
  group: string
  /**
   * The machine directory's name: `{ path, share }` entries with one share name
   * are one directory, in whichever groups and at whichever paths (nfs1's export
   * and the Harbor hosts' /data). A plain path's share is its group and path.
   */
  share: string
}

export interface LabConfig {
  inventoryPath: string
  name: string
  bridge: string
  subnet: Subnet
  /** The interface name inside every host (systemd-nspawn's veth end). */
  interface: string
  /** Addresses on the lab subnet that belong to no host (virtual IPs). */
  reserved: string[]
  /** Names the lab's hosts resolve (in their /etc/hosts) to reserved addresses: the lab plays DNS for a virtual IP's name. */
  reservedNames: { address: string; name: string }[]
  stateDir: string
  keyFile: string
  knownHostsFile: string
  hosts: LabHost[]
}

type YamlMap = Record<string, unknown>

const isMap = (v: unknown): v is YamlMap => typeof v === 'object' && v !== null && !Array.isArray(v)

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
}

export function parseSubnet(cidr: string, where: string): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr)
  const base = m ? ipToInt(m[1] ?? '') : undefined
  const prefix = m ? Number(m[2]) : NaN
  if (base === undefined || !(prefix >= 8 && prefix <= 29))
    throw new LabError(`${where}: lab.subnet '${cidr}' is not an IPv4 network between /8 and /29`, { hint: 'write it as 10.77.0.0/24' })
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  const network = (base & mask) >>> 0
  if (network !== base) throw new LabError(`${where}: lab.subnet '${cidr}' has host bits set`, { hint: `did you mean ${intToIp(network)}/${prefix}?` })
  // Only private ranges: the lab must never shadow an address that exists elsewhere.
  const privateRanges: Array<[string, number]> = [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
  ]
  const inPrivate = privateRanges.some(([net, p]) => prefix >= p && inSubnet(network, ipToInt(net) ?? 0, p))
  if (!inPrivate) throw new LabError(`${where}: lab.subnet '${cidr}' is not a private range`, { hint: 'use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16' })
  return { cidr, network, prefix, gateway: intToIp(network + 1) }
}

function inSubnet(ip: number, network: number, prefix: number): boolean {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  return ((ip & mask) >>> 0) === network
}

export function addressInSubnet(address: string, subnet: Subnet): boolean {
  const ip = ipToInt(address)
  return ip !== undefined && inSubnet(ip, subnet.network, subnet.prefix)
}

const NAME_RE = /^[a-z][a-z0-9-]{0,14}$/

/** Read and check the lab inventory. Errors name the file and the offending key. */
export function loadLabConfig(inventoryPath: string): LabConfig {
  const path = resolve(inventoryPath)
  let doc: unknown
  try {
    doc = parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new LabError(`cannot read the lab inventory ${path}: ${(e as Error).message}`)
  }
  const all = isMap(doc) ? doc.all : undefined
  if (!isMap(all)) throw new LabError(`${path}: no 'all' group`, { hint: 'the lab inventory uses Ansible YAML layout: all: { vars: {...}, children: {...} }' })
  const allVars = isMap(all.vars) ? all.vars : {}
  const lab = allVars.lab
  if (!isMap(lab)) throw new LabError(`${path}: all.vars.lab is missing`, { hint: 'add lab: { name: berth, bridge: berth0, subnet: 10.77.0.0/24 } under all.vars' })

  const name = String(lab.name ?? '')
  if (!NAME_RE.test(name)) throw new LabError(`${path}: lab.name '${name}' must be 1-15 lower-case letters, digits or '-', starting with a letter`)
  const bridge = String(lab.bridge ?? '')
  // IFNAMSIZ: interface names are at most 15 bytes.
  if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,14}$/.test(bridge)) throw new LabError(`${path}: lab.bridge '${bridge}' is not a valid interface name (at most 15 characters)`)
  const subnet = parseSubnet(String(lab.subnet ?? ''), path)
  const iface = String(lab.interface ?? 'host0')
  if (iface !== 'host0') throw new LabError(`${path}: lab.interface must be 'host0' (the name systemd-nspawn gives a host's end of its veth)`)

  const stateDir = `${STATE_ROOT}/${name}`
  const keyFile = String(allVars.ansible_ssh_private_key_file ?? `${stateDir}/id_ed25519`)
  const knownHostsFile = String(allVars.berth_known_hosts_file ?? `${stateDir}/known_hosts`)
  for (const [key, value] of [
    ['ansible_ssh_private_key_file', keyFile],
    ['berth_known_hosts_file', knownHostsFile],
  ] as const)
    if (!isAbsolute(value) || !value.startsWith(`${stateDir}/`))
      throw new LabError(`${path}: all.vars.${key} '${value}' must be an absolute path inside the lab's state directory ${stateDir}/`, {
        hint: `the lab writes it there; e.g. ${key}: ${stateDir}/${key === 'berth_known_hosts_file' ? 'known_hosts' : 'id_ed25519'}`,
      })

  // Walk the group tree. A host may appear in several groups; its address may
  // be given in any one of them (Ansible merges), but not two different ones.
  const hosts = new Map<string, { address?: string; groups: Set<string>; dataDirs: Set<string>; shared: Map<string, { group: string; share: string }>; calls: Set<string> }>()
  const goodDir = (d: unknown): d is string => typeof d === 'string' && isAbsolute(d) && d !== '/' && !d.includes('..') && !d.includes(':')
  const trimDir = (d: string): string => d.replace(/\/+$/, '')
  /** lab_data_dirs: a list of directories, each added to `set` without a trailing '/'. */
  const addDirs = (set: Set<string>, vars: unknown, where: string): void => {
    if (!isMap(vars) || vars.lab_data_dirs === undefined) return
    const dirs = vars.lab_data_dirs
    if (!Array.isArray(dirs) || !dirs.every(goodDir)) throw new LabError(`${path}: ${where}.lab_data_dirs must be a list of absolute paths (no ':' or '..')`)
    for (const d of dirs) set.add(trimDir(d))
  }
  /** lab_shared_dirs: paths, or { path, share } to name the machine directory; path -> share. */
  const sharedDirsOf = (vars: unknown, groupName: string): Map<string, string> => {
    const out = new Map<string, string>()
    if (!isMap(vars) || vars.lab_shared_dirs === undefined) return out
    const entries = vars.lab_shared_dirs
    const problem = `${path}: ${groupName}.lab_shared_dirs must be a list of absolute paths (no ':' or '..'), or of { path, share } with a share name of lower-case letters, digits and '-'`
    if (!Array.isArray(entries)) throw new LabError(problem)
    for (const e of entries) {
      const dir = isMap(e) ? e.path : e
      const share = isMap(e) ? e.share : undefined
      if (!goodDir(dir) || (isMap(e) && (typeof share !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(share)))) throw new LabError(problem)
      const p = trimDir(dir)
      out.set(p, typeof share === 'string' ? share : `${groupName}/${p.replace(/^\/+/, '').replace(/\//g, '_')}`)
    }
    return out
  }
  const sharedOf = new Map<string, Map<string, string>>()
  const callsOf = new Map<string, string[]>()
  const walk = (group: YamlMap, groupName: string, inherited: string[], depth: number): void => {
    if (depth > 20) throw new LabError(`${path}: groups nest more than 20 deep (a loop?)`)
    const chain = groupName === 'all' ? inherited : [...inherited, groupName]
    const groupDirs = new Set<string>()
    addDirs(groupDirs, group.vars, groupName)
    const shared = sharedDirsOf(group.vars, groupName)
    if (shared.size > 0) sharedOf.set(groupName, shared)
    if (isMap(group.vars) && group.vars.lab_system_calls !== undefined) {
      const calls = group.vars.lab_system_calls
      if (!Array.isArray(calls) || calls.some((c) => typeof c !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(c)))
        throw new LabError(`${path}: ${groupName}.lab_system_calls must be a list of system call names (open_by_handle_at)`)
      callsOf.set(groupName, calls as string[])
    }
    if (group.hosts !== undefined && group.hosts !== null) {
      if (!isMap(group.hosts)) throw new LabError(`${path}: ${groupName}.hosts must be a mapping of host names`)
      for (const [hostName, hvars] of Object.entries(group.hosts)) {
        if (!NAME_RE.test(hostName)) throw new LabError(`${path}: lab host name '${hostName}' must be 1-15 lower-case letters, digits or '-', starting with a letter`)
        const h = hosts.get(hostName) ?? { groups: new Set<string>(), dataDirs: new Set<string>(), shared: new Map<string, { group: string; share: string }>(), calls: new Set<string>() }
        hosts.set(hostName, h)
        for (const g of chain) h.groups.add(g)
        for (const d of groupDirs) h.dataDirs.add(d)
        if (isMap(hvars)) {
          addDirs(h.dataDirs, hvars, hostName)
          if (hvars.ansible_host !== undefined) {
            const a = String(hvars.ansible_host)
            if (h.address !== undefined && h.address !== a) throw new LabError(`${path}: host ${hostName} has two addresses, ${h.address} and ${a}`)
            h.address = a
          }
        }
      }
    }
    if (group.children !== undefined && group.children !== null) {
      if (!isMap(group.children)) throw new LabError(`${path}: ${groupName}.children must be a mapping of group names`)
      for (const [childName, child] of Object.entries(group.children)) walk(isMap(child) ? child : {}, childName, chain, depth + 1)
    }
    // Group vars apply to hosts listed in child groups too: a second pass adds them.
    if (groupDirs.size > 0) for (const h of hosts.values()) if (groupName === 'all' || h.groups.has(groupName)) for (const d of groupDirs) h.dataDirs.add(d)
  }
  walk(all, 'all', [], 0)
  // group_vars/ and host_vars/ files beside the inventory may add data dirs too.
  const varsFile = (kind: string, n: string): unknown => {
    for (const ext of ['yml', 'yaml']) {
      const f = join(dirname(path), kind, `${n}.${ext}`)
      if (existsSync(f)) {
        try {
          return parse(readFileSync(f, 'utf8'))
        } catch {
          return undefined // a vault file or broken YAML: the engine reports it, the lab needs nothing from it
        }
      }
    }
    return undefined
  }
  for (const [hostName, h] of hosts) {
    for (const [group, calls] of callsOf) if (group === 'all' || h.groups.has(group)) for (const c of calls) h.calls.add(c)
    for (const [group, dirs] of sharedOf) {
      if (group !== 'all' && !h.groups.has(group)) continue
      for (const [d, share] of dirs) {
        const other = h.shared.get(d)
        if (other !== undefined && other.share !== share) throw new LabError(`${path}: host ${hostName}: ${d} is shared by both group ${other.group} and group ${group}`, { hint: 'give both the same share name: { path, share }' })
        h.shared.set(d, other ?? { group, share })
      }
    }
    for (const g of ['all', ...h.groups]) addDirs(h.dataDirs, varsFile('group_vars', g), `group_vars/${g}`)
    addDirs(h.dataDirs, varsFile('host_vars', hostName), `host_vars/${hostName}`)
  }

  const reserved: string[] = []
  const reservedNames: { address: string; name: string }[] = []
  // An address, or { address, name }: the name goes into every host's /etc/hosts.
  for (const r of Array.isArray(lab.reserved) ? lab.reserved : []) {
    const a = String(isMap(r) ? r.address : r)
    if (!addressInSubnet(a, subnet)) throw new LabError(`${path}: lab.reserved address ${a} is not in lab.subnet ${subnet.cidr}`)
    reserved.push(a)
    if (isMap(r) && r.name !== undefined) {
      const name = String(r.name)
      if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name)) throw new LabError(`${path}: lab.reserved name ${JSON.stringify(name)} is not a host name`)
      reservedNames.push({ address: a, name })
    }
  }

  const broadcast = subnet.network + 2 ** (32 - subnet.prefix) - 1
  const seen = new Map<string, string>(reserved.map((r) => [r, 'lab.reserved']))
  seen.set(subnet.gateway, 'the lab bridge')
  const out: LabHost[] = []
  for (const [hostName, h] of hosts) {
    if (h.address === undefined) throw new LabError(`${path}: host ${hostName} has no ansible_host`, { hint: `give it an address in ${subnet.cidr}` })
    const ip = ipToInt(h.address)
    if (ip === undefined || !addressInSubnet(h.address, subnet) || ip === subnet.network || ip === broadcast)
      throw new LabError(`${path}: host ${hostName}: ansible_host ${h.address} is not a host address in lab.subnet ${subnet.cidr}`)
    const clash = seen.get(h.address)
    if (clash) throw new LabError(`${path}: host ${hostName}: address ${h.address} is already used by ${clash}`)
    seen.set(h.address, `host ${hostName}`)
    const sharedDirs = [...h.shared].map(([p, { group, share }]) => ({ path: p, group, share })).sort((a, b) => a.path.localeCompare(b.path))
    const both = sharedDirs.find((d) => h.dataDirs.has(d.path))
    if (both) throw new LabError(`${path}: host ${hostName}: ${both.path} is in both lab_data_dirs and lab_shared_dirs`)
    out.push({ name: hostName, address: h.address, groups: [...h.groups].sort(), dataDirs: [...h.dataDirs].sort(), sharedDirs, systemCalls: [...h.calls].sort() })
  }
  if (out.length === 0) throw new LabError(`${path}: the lab inventory names no hosts`)
  return { inventoryPath: path, name, bridge, subnet, interface: iface, reserved, reservedNames, stateDir, keyFile, knownHostsFile, hosts: out }
}

/** The hosts named on the command line (all when none), in inventory order; unknown names are an error. */
export function selectHosts(config: LabConfig, names: readonly string[]): LabHost[] {
  if (names.length === 0) return config.hosts
  const unknown = names.filter((n) => !config.hosts.some((h) => h.name === n))
  if (unknown.length > 0)
    throw new LabError(`unknown lab host${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `${config.inventoryPath} names ${config.hosts.map((h) => h.name).join(', ')}`,
    })
  return config.hosts.filter((h) => names.includes(h.name))
}
