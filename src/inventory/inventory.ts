// The inventory, in Ansible's YAML layout:
//
//   all:
//     vars: {ntp: pool.ntp.org}
//     children:
//       pg:
//         hosts:
//           db1: {ansible_host: 10.0.0.11}
//           db[2:3]:                       # a range: db2, db3
//         children: {pg_primary: {hosts: {db1: }}}
//
// plus group_vars/ and host_vars/ beside each inventory file (NAME, NAME.yml,
// NAME.yaml, NAME.json, or a folder NAME/ whose files merge in name order),
// vault-encrypted files and `!vault` values, and `-e` extra vars.
//
// Variable precedence is Ansible's (ansible-core 2.14, VARIABLE_PRECEDENCE default,
// checked against `ansible-inventory --host`), lowest first:
//
//   1. group `all`, inventory file
//   2. other groups, inventory file: parent before child (by depth), same depth by
//      ansible_group_priority then name
//   3. group_vars/all
//   4. group_vars/<group>, same group order (for several -i: each source in turn)
//   5. the host, inventory file
//   6. host_vars/<host>
//   7. -e extra vars, in command-line order
//
// So a group_vars/ file beats every group's vars written in the inventory file, even
// a child group's: that is Ansible's order, kept so inventories behave the same.
// Each level replaces a variable as a whole, never deep-merges dicts (Ansible's
// default hash_behaviour=replace); see extra-vars.ts for dotted -e keys.
import { readFile, readdir, stat } from 'node:fs/promises'
import { dirname, extname, isAbsolute, join } from 'node:path'
import { isMap, isScalar, type Node } from 'yaml'
import { ConfigError } from '../errors.ts'
import type { Redactor } from '../secrets.ts'
import { applyExtraVars } from './extra-vars.ts'
import { UnknownHostPatternError, closestName, selectHosts, type HostResolver } from './pattern.ts'
import { VaultKeyring, readVaultPasswordFile, type VaultPasswordSource } from './vault.ts'
import { YamlFile, describeNode, revealVaulted, type YamlEntry } from './yaml-file.ts'

export interface InventoryHost {
  /** The inventory hostname. */
  name: string
  /** Fully merged variables (see the precedence above), connection variables included. */
  vars: Record<string, unknown>
  /** Every group the host is in, ancestors included: 'all' first, then in precedence order. */
  groups: string[]
}

export interface LoadOptions {
  /** Already parsed -e values, applied last, in order. */
  extraVars?: Record<string, unknown>[]
  /** May be empty; needed only if something is encrypted. */
  vaultPasswords?: VaultPasswordSource[]
  /** Every decrypted value (each leaf string) is registered here. */
  redactor: Redactor
}

type Vars = Record<string, unknown>

/** Variables from one place, with where each came from (`file:line`). */
interface VarLayer {
  vars: Vars
  origins: Record<string, string>
}

const ALL = 'all'
const UNGROUPED = 'ungrouped'
const GROUP_SECTIONS = ['hosts', 'vars', 'children']
/** Names Ansible answers with an implicit local host when the inventory lacks them. */
const IMPLICIT_LOCALHOST_NAMES = ['localhost', '127.0.0.1', '::1']
/** As Ansible's find_vars_files: the first of these that exists is used. */
const VARS_FILE_EXTENSIONS = ['', '.yml', '.yaml', '.json']
const INVENTORY_FILE_EXTENSIONS = ['.yml', '.yaml', '.json']
const INI_HINT = 'berth reads the YAML inventory format; convert an INI inventory with: ansible-inventory -i FILE --list --yaml > FILE.yml'

class GroupRecord {
  readonly parents = new Set<string>()
  readonly children = new Set<string>()
  readonly hosts = new Set<string>()
  readonly vars: VarLayer = { vars: {}, origins: {} }
  /** ansible_group_priority: orders groups of the same depth (higher wins). Ansible's default is 1. */
  priority = 1
  depth = 0
  constructor(
    readonly name: string,
    readonly definedAt: string,
  ) {}
}

class HostRecord {
  readonly groups = new Set<string>()
  readonly vars: VarLayer = { vars: {}, origins: {} }
  constructor(
    readonly name: string,
    readonly definedAt: string,
  ) {}
}

interface InventorySource {
  /** As given with -i. */
  given: string
  /** The folder holding this source's group_vars/ and host_vars/; none for a host list. */
  varsDir: string | undefined
}

/** Vars files per source, per group or host name, each file one layer (in merge order). */
type VarsFiles = Map<string, VarLayer[]>[]

/** Parses inventory sources into groups and hosts; then `build` merges the variables. */
class InventoryBuilder {
  readonly groups = new Map<string, GroupRecord>()
  readonly hosts = new Map<string, HostRecord>()
  readonly sources: InventorySource[] = []
  /** Variables found while parsing, applied in file order once their vault values are decrypted. */
  readonly #assignments: { layer: VarLayer; vars: Vars; origins: Record<string, string>; group?: GroupRecord }[] = []

  constructor(
    private readonly keyring: VaultKeyring,
    private readonly redactor: Redactor,
  ) {
    this.group(ALL, ALL)
  }

  group(name: string, where: string): GroupRecord {
    let group = this.groups.get(name)
    if (!group) {
      group = new GroupRecord(name, where)
      this.groups.set(name, group)
    }
    return group
  }

  host(name: string, where: string): HostRecord {
    let host = this.hosts.get(name)
    if (!host) {
      host = new HostRecord(name, where)
      this.hosts.set(name, host)
    }
    return host
  }

  async addSource(given: string): Promise<void> {
    let isDirectory: boolean
    try {
      isDirectory = (await stat(given)).isDirectory()
    } catch {
      // Ansible's host list: -i 'web1,web2' (or 'web1,' for one host).
      if (given.includes(',')) {
        this.sources.push({ given, varsDir: undefined })
        for (const name of given.split(',').map((h) => h.trim()).filter(Boolean)) this.host(name, `-i ${given}`)
        return
      }
      throw new ConfigError(`inventory ${given} does not exist`, { hint: '-i takes a YAML inventory file, or a folder of them' })
    }
    const files = isDirectory ? await listInventoryFolder(given) : [given]
    if (files.length === 0) throw new ConfigError(`inventory folder ${given} holds no .yml, .yaml or .json file`)
    this.sources.push({ given, varsDir: isDirectory ? given : dirname(given) })
    for (const file of files) this.#parseFile(await this.#readInventoryFile(file))
  }

  async #readInventoryFile(file: string): Promise<YamlFile> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      throw new ConfigError(`inventory ${file} cannot be read: ${(e as Error).message}`)
    }
    const firstLine = text.split('\n').find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l))
    if (firstLine !== undefined && /^\s*\[[^\]]+\]\s*$/.test(firstLine))
      throw new ConfigError('this looks like an INI inventory', { where: `${file}:${text.split('\n').indexOf(firstLine) + 1}`, hint: INI_HINT })
    return YamlFile.fromText(text, file, this.keyring, this.redactor)
  }

  #parseFile(file: YamlFile): void {
    const root = file.root
    if (isNull(root)) return // an empty inventory: no hosts, as Ansible (which warns)
    if (!isMap(root))
      throw new ConfigError(`an inventory is a map of groups (all: {hosts: …, children: …}), found ${describeNode(root)}`, {
        where: file.where(root),
        hint: "start with 'all:', then put hosts under its 'hosts:' and groups under its 'children:'",
      })
    // Top-level keys are groups; those without a parent become children of 'all' (in build).
    for (const entry of file.entries(root)) this.#parseGroup(file, entry, undefined)
  }

  #parseGroup(file: YamlFile, entry: YamlEntry, parent: GroupRecord | undefined): void {
    const where = `${file.file}:${entry.line}`
    if (entry.key === '') throw new ConfigError('a group needs a name', { where })
    const group = this.group(entry.key, where)
    if (parent) this.#addChild(parent, group, where)
    const node = entry.value
    if (isNull(node)) return
    if (!isMap(node))
      throw new ConfigError(`group '${group.name}' must be a map with hosts, vars or children, found ${describeNode(node)}`, {
        where,
        hint: `write '${group.name}:' with 'hosts:', 'vars:' or 'children:' indented under it`,
      })
    for (const section of file.entries(node)) {
      if (section.key === 'hosts') this.#parseHosts(file, group, section)
      else if (section.key === 'vars') this.#parseGroupVars(file, group, section)
      else if (section.key === 'children') this.#parseChildren(file, group, section)
      else {
        const close = closestName(section.key, GROUP_SECTIONS)
        throw new ConfigError(`group '${group.name}': unknown key '${section.key}'`, {
          where: `${file.file}:${section.line}`,
          hint: close
            ? `did you mean '${close}'?`
            : "a group has only 'hosts:', 'vars:' and 'children:'; put variables under 'vars:' and groups under 'children:'",
        })
      }
    }
  }

  #parseHosts(file: YamlFile, group: GroupRecord, section: YamlEntry): void {
    const node = section.value
    const where = `${file.file}:${section.line}`
    if (isNull(node)) return
    // Ansible accepts one host name as a string: `hosts: db1`.
    if (isScalar(node) && typeof node.value === 'string') {
      for (const name of expandHostKey(node.value, where).names) this.#addHost(group, name, where)
      return
    }
    if (!isMap(node))
      throw new ConfigError(`group '${group.name}': hosts must be a map of host names, found ${describeNode(node)}`, {
        where,
        hint: "write each host as a key on its own line under 'hosts:', e.g. 'db1:' or 'db1: {ansible_host: 10.0.0.11}'",
      })
    for (const entry of file.entries(node)) {
      const hostWhere = `${file.file}:${entry.line}`
      const { names, port } = expandHostKey(entry.key, hostWhere)
      const value = entry.value
      if (!isNull(value) && !isMap(value))
        throw new ConfigError(`host '${entry.key}' in group '${group.name}': its variables must be a map (or nothing), found ${describeNode(value)}`, {
          where: hostWhere,
          hint: `write '${entry.key}:' alone for a host without variables, or '${entry.key}: {ansible_host: 10.0.0.5}'`,
        })
      const vars = isNull(value) ? {} : (file.toJS(value) as Vars)
      const origins = isNull(value) ? {} : originsOf(file, value)
      if (port !== undefined) {
        // Explicit ansible_port in the host's variables still wins (applied after).
        vars.ansible_port ??= port
        origins.ansible_port ??= hostWhere
      }
      for (const name of names) {
        const host = this.#addHost(group, name, hostWhere)
        this.#assignments.push({ layer: host.vars, vars, origins })
      }
    }
  }

  #addHost(group: GroupRecord, name: string, where: string): HostRecord {
    const host = this.host(name, where)
    group.hosts.add(name)
    host.groups.add(group.name)
    return host
  }

  #parseGroupVars(file: YamlFile, group: GroupRecord, section: YamlEntry): void {
    const node = section.value
    if (isNull(node)) return
    if (!isMap(node))
      throw new ConfigError(`group '${group.name}': vars must be a map of variables, found ${describeNode(node)}`, {
        where: `${file.file}:${section.line}`,
        hint: "write each variable as 'name: value' indented under 'vars:'",
      })
    this.#assignments.push({ layer: group.vars, vars: file.toJS(node) as Vars, origins: originsOf(file, node), group })
  }

  #parseChildren(file: YamlFile, group: GroupRecord, section: YamlEntry): void {
    const node = section.value
    const where = `${file.file}:${section.line}`
    if (isNull(node)) return
    if (isScalar(node) && typeof node.value === 'string') {
      this.#addChild(group, this.group(node.value, where), where)
      return
    }
    if (!isMap(node))
      throw new ConfigError(`group '${group.name}': children must be a map of groups, found ${describeNode(node)}`, {
        where,
        hint: "write each child group as a key under 'children:', e.g. 'pg_primary:' or 'pg_primary: {hosts: {db1: }}'",
      })
    for (const entry of file.entries(node)) this.#parseGroup(file, entry, group)
  }

  #addChild(parent: GroupRecord, child: GroupRecord, where: string): void {
    if (child.name === ALL) throw new ConfigError(`group 'all' cannot be a child of '${parent.name}': every group is already in 'all'`, { where })
    if (child === parent || this.#ancestors(parent).has(child.name))
      throw new ConfigError(`group '${child.name}' cannot be a child of '${parent.name}': '${parent.name}' is already inside '${child.name}'`, {
        where,
        hint: 'groups must not contain each other in a loop',
      })
    parent.children.add(child.name)
    child.parents.add(parent.name)
  }

  #ancestors(group: GroupRecord, into = new Set<string>()): Set<string> {
    for (const parent of group.parents)
      if (!into.has(parent)) {
        into.add(parent)
        const record = this.groups.get(parent)
        if (record) this.#ancestors(record, into)
      }
    return into
  }

  /** A variable of group all as written in an inventory file, before any vault is opened (the last one wins). */
  allVarAsWritten(name: string): { value: unknown; where: string | undefined } | undefined {
    for (const a of [...this.#assignments].reverse()) if (a.group?.name === ALL && name in a.vars) return { value: a.vars[name], where: a.origins[name] }
    return undefined
  }

  /** Decrypt the `!vault` values found while parsing, then apply the variables in file order. */
  async applyInventoryVars(): Promise<void> {
    const revealed = await Promise.all(this.#assignments.map((a) => revealVaulted(a.vars, this.keyring, this.redactor)))
    this.#assignments.forEach((assignment, i) => {
      const vars = revealed[i] as Vars
      if (assignment.group && 'ansible_group_priority' in vars) {
        // As Ansible: a priority, not a variable.
        const { ansible_group_priority: priority, ...rest } = vars
        const number = Number(priority)
        if (!Number.isInteger(number))
          throw new ConfigError(`group '${assignment.group.name}': ansible_group_priority must be an integer, found ${String(priority)}`, {
            where: assignment.origins.ansible_group_priority,
          })
        assignment.group.priority = number
        Object.assign(assignment.layer.vars, rest)
      } else Object.assign(assignment.layer.vars, vars)
      Object.assign(assignment.layer.origins, assignment.origins)
    })
    this.#assignments.length = 0
  }

  /** Ansible's reconcile: top groups go under 'all', hosts in no group go to 'ungrouped'. */
  reconcile(): void {
    const ungrouped = this.group(UNGROUPED, UNGROUPED)
    for (const group of this.groups.values()) if (group.name !== ALL && group.parents.size === 0) this.#addChild(this.group(ALL, ALL), group, group.definedAt)
    for (const host of this.hosts.values()) {
      const elsewhere = [...host.groups].some((g) => g !== ALL && g !== UNGROUPED)
      if (elsewhere && host.groups.has(UNGROUPED)) {
        host.groups.delete(UNGROUPED)
        ungrouped.hosts.delete(host.name)
      } else if (!elsewhere) this.#addHost(ungrouped, host.name, host.definedAt)
    }
    // Depth: the longest path from 'all' (as Ansible's Group.depth); #addChild keeps the graph free of loops.
    const depths = new Map<string, number>([[ALL, 0]])
    const depth = (group: GroupRecord): number => {
      let known = depths.get(group.name)
      if (known === undefined) {
        known = Math.max(0, ...[...group.parents].map((p) => {
          const record = this.groups.get(p)
          return record ? depth(record) + 1 : 0
        }))
        depths.set(group.name, known)
      }
      return known
    }
    for (const group of this.groups.values()) group.depth = depth(group)
  }

  /** The groups a host is in, ancestors included, in precedence order ('all' first). */
  groupsOf(host: HostRecord): GroupRecord[] {
    const names = new Set<string>([ALL])
    for (const direct of host.groups) {
      names.add(direct)
      const record = this.groups.get(direct)
      if (record) for (const ancestor of this.#ancestors(record)) names.add(ancestor)
    }
    return [...names].map((n) => this.groups.get(n)).filter((g): g is GroupRecord => g !== undefined).sort(compareGroups)
  }

  /** group_vars/ and host_vars/ files of every source, read in parallel. */
  async loadVarsFiles(hostNames: string[]): Promise<{ groupFiles: VarsFiles; hostFiles: VarsFiles }> {
    const load = (source: InventorySource, folder: 'group_vars' | 'host_vars', names: string[]) =>
      source.varsDir === undefined ? Promise.resolve(new Map<string, VarLayer[]>()) : this.#loadVarsFolder(join(source.varsDir, folder), names)
    const groupNames = [...this.groups.keys()]
    const [groupFiles, hostFiles] = await Promise.all([
      Promise.all(this.sources.map((s) => load(s, 'group_vars', groupNames))),
      Promise.all(this.sources.map((s) => load(s, 'host_vars', hostNames))),
    ])
    return { groupFiles, hostFiles }
  }

  async #loadVarsFolder(folder: string, names: string[]): Promise<Map<string, VarLayer[]>> {
    let entries: Set<string>
    try {
      entries = new Set(await readdir(folder))
    } catch {
      return new Map() // no group_vars/ (or host_vars/) here
    }
    const loaded = await Promise.all(
      names.map(async (name): Promise<[string, VarLayer[]]> => {
        const files = await findVarsFiles(folder, name, entries)
        return [name, await Promise.all(files.map((f) => this.#loadVarsFile(f)))]
      }),
    )
    return new Map(loaded.filter(([, layers]) => layers.length > 0))
  }

  async #loadVarsFile(path: string): Promise<VarLayer> {
    const file = await YamlFile.read(path, path, this.keyring, this.redactor)
    const root = file.root
    if (isNull(root)) return { vars: {}, origins: {} } // an empty file, as Ansible
    if (!isMap(root))
      throw new ConfigError(`a variables file must be a map of variables, found ${describeNode(root)}`, {
        where: file.where(root),
        hint: "write each variable as 'name: value' on its own line",
      })
    const vars = await revealVaulted(file.toJS(root), this.keyring, this.redactor)
    return { vars: vars as Vars, origins: originsOf(file, root) }
  }
}

function compareGroups(a: GroupRecord, b: GroupRecord): number {
  // Ansible's sort_groups: depth, then priority, then name (code point order, as Python).
  return a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}

function isNull(node: Node | null): node is null {
  return node === null || (isScalar(node) && node.value === null)
}

function originsOf(file: YamlFile, node: Node): Record<string, string> {
  const origins: Record<string, string> = {}
  for (const entry of file.entries(node)) origins[entry.key] = `${file.file}:${entry.line}`
  return origins
}

/**
 * A hosts key: a name, `name:port`, and `[a:b]` / `[a:b:step]` ranges (numeric,
 * zero-padded when the start is, or single letters), as Ansible's YAML inventory.
 */
export function expandHostKey(key: string, where: string): { names: string[]; port: number | undefined } {
  if (key.trim() === '') throw new ConfigError('a host needs a name', { where })
  let name = key.trim()
  let port: number | undefined
  const bareIpv6 = /^[0-9a-fA-F]*:[0-9a-fA-F:.]*:[0-9a-fA-F.]*$/.test(name)
  const bracketedIpv6 = /^\[([0-9a-fA-F:.]+:[0-9a-fA-F:.]*)\](?::(\d+))?$/.exec(name)
  if (bracketedIpv6?.[1] && bracketedIpv6[1].split(':').length > 2) {
    name = bracketedIpv6[1]
    port = bracketedIpv6[2] === undefined ? undefined : Number(bracketedIpv6[2])
  } else if (!bareIpv6) {
    const withPort = /^(.*[^:]):(\d+)$/.exec(name)
    if (withPort?.[1] && !/\[[^\]]*$/.test(withPort[1])) {
      name = withPort[1]
      port = Number(withPort[2])
    }
  }
  return { names: name.includes('[') ? expandRanges(name, where) : [name], port }
}

function expandRanges(name: string, where: string): string[] {
  const m = /^([^[]*)\[([^\]]*)\](.*)$/.exec(name)
  if (!m) throw new ConfigError(`host '${name}': a range must be written [begin:end] or [begin:end:step]`, { where })
  const [, head = '', range = '', tail = ''] = m
  const bounds = range.split(':')
  if (bounds.length !== 2 && bounds.length !== 3)
    throw new ConfigError(`host '${name}': a range must be written [begin:end] or [begin:end:step]`, { where })
  const begin = bounds[0] || '0'
  const end = bounds[1] ?? ''
  const step = bounds.length === 3 ? Number(bounds[2]) : 1
  if (end === '') throw new ConfigError(`host '${name}': the range has no end`, { where })
  if (!Number.isInteger(step) || step < 1) throw new ConfigError(`host '${name}': the range step must be a positive integer`, { where })
  let items: string[]
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
  if (/^[a-zA-Z]$/.test(begin) && /^[a-zA-Z]$/.test(end)) {
    const from = letters.indexOf(begin)
    const to = letters.indexOf(end)
    if (from > to) throw new ConfigError(`host '${name}': the range must have begin <= end`, { where })
    items = []
    for (let i = from; i <= to; i += step) items.push(letters[i] as string)
  } else if (/^\d+$/.test(begin) && /^\d+$/.test(end)) {
    const padded = begin.length > 1 && begin.startsWith('0')
    if (padded && begin.length !== end.length)
      throw new ConfigError(`host '${name}': a zero-padded range needs begin and end of the same length`, { where })
    // Ansible silently expands a backwards numeric range to no host; that is a typo, say so.
    if (Number(begin) > Number(end)) throw new ConfigError(`host '${name}': the range must have begin <= end`, { where })
    items = []
    for (let i = Number(begin); i <= Number(end); i += step) items.push(padded ? String(i).padStart(begin.length, '0') : String(i))
  } else throw new ConfigError(`host '${name}': range bounds must be numbers or single letters`, { where })
  return items.flatMap((item) => {
    const expanded = head + item + tail
    return expanded.includes('[') ? expandRanges(expanded, where) : [expanded]
  })
}

/** Ansible's find_vars_files: NAME, NAME.yml, NAME.yaml, NAME.json (first found); a folder merges its files. */
async function findVarsFiles(folder: string, name: string, entries: Set<string>): Promise<string[]> {
  if (name.startsWith('/')) return []
  for (const extension of VARS_FILE_EXTENSIONS) {
    if (!entries.has(name + extension)) continue
    const path = join(folder, name + extension)
    return (await stat(path)).isDirectory() ? listVarsFolder(path) : [path]
  }
  return []
}

/** Files of a group_vars/NAME/ folder, sorted by name, subfolders in place; hidden files and backups~ skipped. */
async function listVarsFolder(folder: string): Promise<string[]> {
  const found: string[] = []
  for (const name of (await readdir(folder)).sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue
    const path = join(folder, name)
    const extension = extname(name)
    const info = await stat(path)
    if (info.isDirectory() && extension === '') found.push(...(await listVarsFolder(path)))
    else if (info.isFile() && (extension === '' || VARS_FILE_EXTENSIONS.includes(extension))) found.push(path)
  }
  return found
}

/** The inventory files of a folder given with -i: .yml/.yaml/.json, sorted, subfolders too (not group_vars/host_vars). */
async function listInventoryFolder(folder: string): Promise<string[]> {
  const found: string[] = []
  for (const name of (await readdir(folder)).sort()) {
    if (name.startsWith('.') || name === 'group_vars' || name === 'host_vars') continue
    const path = join(folder, name)
    const info = await stat(path)
    if (info.isDirectory()) found.push(...(await listInventoryFolder(path)))
    else if (info.isFile() && INVENTORY_FILE_EXTENSIONS.includes(extname(name))) found.push(path)
  }
  return found
}

interface InventoryModel {
  sources: string[]
  hosts: InventoryHost[]
  /** Group name to its hosts (child groups included), inventory order. */
  members: Map<string, string[]>
  origins: Map<string, Record<string, string>>
  /** Builds the implicit localhost, for inventories without one. */
  implicitLocalhost: (name: string) => InventoryHost
}

/**
 * berth's counterpart of ansible.cfg's `vault_password_file`: the inventory
 * itself may name the file (or executable) that opens its vaults, as
 * `all.vars.berth_vault_password_file`, relative to the inventory file that
 * sets it. Used only when no password came from the command line or the
 * environment, and only for the inventory's own files.
 */
async function useInventoryVaultPassword(builder: InventoryBuilder, keyring: VaultKeyring, redactor: Redactor): Promise<void> {
  const found = builder.allVarAsWritten('berth_vault_password_file')
  if (keyring.hasPasswords || found === undefined) return
  const { value: file, where } = found
  if (typeof file !== 'string' || file === '')
    throw new ConfigError('berth_vault_password_file must be a file path', where === undefined ? {} : { where })
  const base = where ? dirname(where.replace(/:\d+(:\d+)?$/, '')) : process.cwd()
  const path = isAbsolute(file) ? file : join(base, file)
  const password = await readVaultPasswordFile(path)
  redactor.add(password)
  keyring.add({ password })
}

export class Inventory {
  readonly #model: InventoryModel
  readonly #byName: Map<string, InventoryHost>
  readonly #implicit = new Map<string, InventoryHost>()

  private constructor(model: InventoryModel) {
    this.#model = model
    this.#byName = new Map(model.hosts.map((h) => [h.name, h]))
  }

  /** Load one or more inventories (several -i merge, later ones winning). */
  static async load(paths: string[], options: LoadOptions): Promise<Inventory> {
    const keyring = new VaultKeyring(options.vaultPasswords ?? [])
    const builder = new InventoryBuilder(keyring, options.redactor)
    for (const path of paths) await builder.addSource(path)
    // Before anything is decrypted: the inventory may name the password that opens it.
    await useInventoryVaultPassword(builder, keyring, options.redactor)
    await builder.applyInventoryVars()
    builder.reconcile()
    const hostNames = [...builder.hosts.keys()]
    // host_vars/localhost also serves the implicit localhost.
    const { groupFiles, hostFiles } = await builder.loadVarsFiles(hostNames.includes('localhost') ? hostNames : [...hostNames, 'localhost'])
    return new Inventory(buildModel(builder, groupFiles, hostFiles, options.extraVars ?? []))
  }

  /** A one-host inventory for localhost, used when no -i is given: localhost with ansible_connection local. */
  static localhost(options: LoadOptions): Inventory {
    const builder = new InventoryBuilder(new VaultKeyring(options.vaultPasswords ?? []), options.redactor)
    const host = builder.host('localhost', 'implicit localhost')
    host.vars.vars.ansible_connection = 'local'
    host.vars.origins.ansible_connection = 'implicit localhost'
    builder.reconcile()
    return new Inventory(buildModel(builder, [], [], options.extraVars ?? []))
  }

  /** The inventory sources, as given with -i. */
  get sources(): readonly string[] {
    return this.#model.sources
  }

  /** Every host, in file order. */
  hosts(): InventoryHost[] {
    return [...this.#model.hosts]
  }

  /** A host by inventory name (also the implicit localhost, as Ansible, when the inventory has none). */
  host(name: string): InventoryHost | undefined {
    return this.#byName.get(name) ?? (IMPLICIT_LOCALHOST_NAMES.includes(name) ? this.#implicitLocalhost(name) : undefined)
  }

  /** Every group name: 'all' first, then in the order first met, 'ungrouped' last. */
  groupNames(): string[] {
    const names = [...this.#model.members.keys()].filter((g) => g !== ALL && g !== UNGROUPED)
    return [ALL, ...names, UNGROUPED]
  }

  /** Host names in a group (incl. child groups), file order. Unknown group: ConfigError. */
  group(name: string): string[] {
    const members = this.#model.members.get(name)
    if (!members) {
      const close = closestName(name, this.#model.members.keys())
      throw new ConfigError(`no group named '${name}' in ${this.#describeSources()}`, {
        hint: close ? `did you mean '${close}'? (groups: ${this.#listGroups()})` : `groups: ${this.#listGroups()}`,
      })
    }
    return [...members]
  }

  /**
   * Hosts matching a pattern (see pattern.ts), in inventory order. An unknown name is
   * a ConfigError listing the known groups and hosts; `usedFor` starts its message
   * (e.g. '--limit').
   */
  select(pattern: string, usedFor?: string): InventoryHost[] {
    let names: string[]
    try {
      names = selectHosts(pattern, this.#resolver())
    } catch (e) {
      if (!(e instanceof UnknownHostPatternError)) throw e
      const what = e.unknown.map((u) => `'${u}'`).join(' or ')
      const close = e.unknown.length === 1 && e.unknown[0] !== undefined ? closestName(e.unknown[0], [...this.#model.members.keys(), ...this.#byName.keys()]) : undefined
      throw new ConfigError(
        `${usedFor ?? `host pattern '${pattern}'`}: no host or group named ${what} in ${this.#describeSources()} (groups: ${this.#listGroups()}; hosts: ${this.#listHosts()})`,
        close ? { hint: `did you mean '${close}'?` } : {},
      )
    }
    return names.map((name) => this.host(name)).filter((h): h is InventoryHost => h !== undefined)
  }

  /** Exactly one host in the group, else ConfigError. */
  one(group: string): InventoryHost {
    const members = this.group(group)
    const only = members.length === 1 && members[0] !== undefined ? this.#byName.get(members[0]) : undefined
    if (only) return only
    throw new ConfigError(
      `group '${group}' must have exactly one host, it has ${members.length}${members.length > 0 ? `: ${members.join(', ')}` : ''}`,
      { hint: `put exactly one host under '${group}' in ${this.#describeSources()}` },
    )
  }

  /** Each host's address (ansible_host, else its name) in a group. */
  addresses(group: string): string[] {
    return this.group(group).map((name) => {
      const address = this.#byName.get(name)?.vars.ansible_host
      return address === undefined || address === null ? name : String(address)
    })
  }

  /**
   * Where a host's variable got its value (`file:line`, or '-e'), for error hints.
   * A dotted path is traced by its first segment (the level that set the whole value).
   */
  varSource(hostName: string, path: string): string | undefined {
    const top = path.split('.')[0] ?? path
    return this.#model.origins.get(hostName)?.[top]
  }

  #implicitLocalhost(name: string): InventoryHost {
    let host = this.#implicit.get(name)
    if (!host) {
      host = this.#model.implicitLocalhost(name)
      this.#implicit.set(name, host)
    }
    return host
  }

  #resolver(): HostResolver {
    const all = this.#model.hosts.map((h) => h.name)
    return {
      all,
      group: (name) => this.#model.members.get(name),
      isHost: (name) => this.#byName.has(name) || IMPLICIT_LOCALHOST_NAMES.includes(name),
      groupNames: [...this.#model.members.keys()],
    }
  }

  #describeSources(): string {
    return this.#model.sources.length === 0 ? 'the implicit localhost inventory' : this.#model.sources.join(', ')
  }

  #listGroups(): string {
    return listSome(this.groupNames().filter((g) => g !== ALL && g !== UNGROUPED))
  }

  #listHosts(): string {
    return listSome(this.#model.hosts.map((h) => h.name))
  }
}

function listSome(names: string[], max = 20): string {
  if (names.length === 0) return 'none'
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length - max} more)`
}

function buildModel(builder: InventoryBuilder, groupFiles: VarsFiles, hostFiles: VarsFiles, extraVars: Vars[]): InventoryModel {
  const allGroup = builder.groups.get(ALL) as GroupRecord
  const hostOrder = [...builder.hosts.keys()]

  const merge = (host: HostRecord, groups: GroupRecord[]): { vars: Vars; origins: Record<string, string> } => {
    const others = groups.filter((g) => g.name !== ALL)
    const layers: VarLayer[] = [
      allGroup.vars,
      ...others.map((g) => g.vars),
      ...groupFiles.flatMap((perSource) => perSource.get(ALL) ?? []),
      ...groupFiles.flatMap((perSource) => others.flatMap((g) => perSource.get(g.name) ?? [])),
      host.vars,
      ...hostFiles.flatMap((perSource) => perSource.get(host.name) ?? []),
    ]
    const vars: Vars = {}
    const origins: Record<string, string> = {}
    for (const layer of layers) {
      Object.assign(vars, layer.vars)
      Object.assign(origins, layer.origins)
    }
    for (const extra of extraVars) {
      applyExtraVars(vars, extra)
      for (const key of Object.keys(extra)) origins[key] = '-e'
    }
    // Each host gets its own copy: a role changing h.vars.pg must not change another host's.
    return { vars: structuredClone(vars), origins }
  }

  const origins = new Map<string, Record<string, string>>()
  const membership = new Map<string, Set<string>>()
  const hosts = [...builder.hosts.values()].map((record): InventoryHost => {
    const groups = builder.groupsOf(record)
    const merged = merge(record, groups)
    origins.set(record.name, merged.origins)
    membership.set(record.name, new Set(groups.map((g) => g.name)))
    return { name: record.name, vars: merged.vars, groups: groups.map((g) => g.name) }
  })

  const members = new Map<string, string[]>()
  for (const group of builder.groups.keys())
    members.set(
      group,
      hostOrder.filter((h) => membership.get(h)?.has(group)),
    )

  return {
    sources: builder.sources.map((s) => s.given),
    hosts,
    members,
    origins,
    implicitLocalhost: (name) => {
      // As Ansible's implicit localhost: the 'all' variables, local connection, no groups.
      const record = new HostRecord(name, 'implicit localhost')
      record.vars.vars.ansible_connection = 'local'
      record.vars.origins.ansible_connection = 'implicit localhost'
      const merged = merge(record, [allGroup])
      origins.set(name, merged.origins)
      return { name, vars: merged.vars, groups: [] }
    },
  }
}
