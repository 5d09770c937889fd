// Where and how to reach an inventory host over SSH: its inventory variables
// first, then ~/.ssh/config (through `ssh-config`, first obtained value wins as
// in ssh_config(5)), then OpenSSH's defaults.
//
// Inventory variables read here:
//   ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file
//     (and the older ansible_ssh_host / ansible_ssh_port / ansible_ssh_user)
//   berth_known_hosts_file     a path or a list of paths (the first gets accept-new entries)
//   berth_host_key_checking    'strict' (default) | 'accept-new'
//   berth_proxy_jump           'user@host:port', a config alias, a comma chain, or 'none'
//   berth_connect_timeout      seconds
//   berth_ssh_max_sessions     channels open at once on the one connection (default 10)
//
// Not honoured, on purpose:
//   ansible_ssh_common_args / ansible_ssh_extra_args: berth does not run the ssh
//     binary, so there is no command line to add them to; put ProxyJump, User,
//     IdentityFile... in ~/.ssh/config or use the variables above.
//   ansible_password / ansible_ssh_pass: no password authentication (keys and agent only).
//   ansible_host_key_checking, StrictHostKeyChecking no/off: see hostKeyPolicy below.
//   Match exec in ssh config: skipped (resolving a target never runs commands).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { homedir, hostname as localHostname, userInfo } from 'node:os'
import { isAbsolute, join } from 'node:path'
import SSHConfig from 'ssh-config'
import { ConfigError } from '../errors.ts'

export interface SshTarget {
  /** Inventory host name; also the Host pattern looked up in ssh config. */
  alias: string
  /** ansible_host > ssh config HostName > alias. */
  hostname: string
  /** ansible_port > ssh config Port > 22. */
  port: number
  /** ansible_user > ssh config User > the current user. */
  user: string
  /** ansible_ssh_private_key_file > ssh config IdentityFile(s) > ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist). */
  identityFiles: string[]
  /** True when an ssh-agent socket is known (SSH_AUTH_SOCK, unless IdentityAgent none). */
  useAgent: boolean
  /** The agent's socket path, when useAgent. */
  agentSocket?: string
  /** berth_known_hosts_file > ssh config UserKnownHostsFile > ~/.ssh/known_hosts. accept-new appends to the first. */
  knownHostsFiles: string[]
  /** Read-only system-wide files also consulted (ssh config GlobalKnownHostsFile > /etc/ssh/ssh_known_hosts{,2}); none when berth_known_hosts_file is set. */
  globalKnownHostsFiles: string[]
  /** 'strict' (default) or 'accept-new'. */
  hostKeyPolicy: 'strict' | 'accept-new'
  /** The hop to go through (itself possibly jumping further). */
  proxyJump?: SshTarget
  /** berth_connect_timeout (s) > ssh config ConnectTimeout > 10 s. */
  connectTimeoutMs: number
  /** berth_ssh_max_sessions > 10 (sshd's MaxSessions default). */
  maxSessions: number
  keepaliveIntervalMs: number
}

export interface ResolveOptions {
  /** Default ~/.ssh/config; a missing file is an empty config. */
  sshConfigPath?: string
  /** Default os.homedir(). */
  home?: string
  /** Default process.env (SSH_AUTH_SOCK). */
  env?: NodeJS.ProcessEnv
}

const DEFAULT_CONNECT_TIMEOUT_S = 10
const DEFAULT_MAX_SESSIONS = 10
const KEEPALIVE_INTERVAL_MS = 15_000
const MAX_HOPS = 8
const MAX_INCLUDE_DEPTH = 16

/** Vars a jump host takes from the host it serves (it has no inventory entry of its own). */
const INHERITED_BY_HOPS = ['berth_known_hosts_file', 'berth_host_key_checking', 'berth_connect_timeout'] as const

interface Ctx {
  home: string
  env: NodeJS.ProcessEnv
  config: SSHConfig
  configPath: string
  localUser: string
}

interface HopOverrides {
  user?: string | undefined
  port?: number | undefined
  /** Key files of the served host, tried after the hop's own IdentityFile(s). */
  inheritedKeys: string[]
  /** For hops after the first in a chain: the previous hop replaces the hop's own ProxyJump. */
  via?: SshTarget | null
  depth: number
  /** Who asked for this hop (for error messages). */
  servedBy: string
}

export function resolveSshTarget(alias: string, vars: Record<string, unknown>, opts: ResolveOptions = {}): SshTarget {
  const home = opts.home ?? homedir()
  const configPath = opts.sshConfigPath ?? join(home, '.ssh', 'config')
  const ctx: Ctx = {
    home,
    env: opts.env ?? process.env,
    config: loadSshConfig(configPath, home),
    configPath,
    localUser: currentUser(),
  }
  return resolve(alias, vars, ctx, undefined)
}

function currentUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root'
  }
}

function resolve(alias: string, vars: Record<string, unknown>, ctx: Ctx, hop: HopOverrides | undefined): SshTarget {
  const cfg = ctx.config.compute(alias, { ignoreCase: true, matchExec: false })
  const one = (key: string): string | undefined => {
    const v = cfg[key]
    const s = Array.isArray(v) ? v[0] : v
    return s === undefined || s === '' ? undefined : s
  }
  const many = (key: string): string[] => {
    const v = cfg[key]
    return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean)
  }
  const where = `host ${alias}`

  const hostname =
    str(vars.ansible_host, 'ansible_host', where) ??
    str(vars.ansible_ssh_host, 'ansible_ssh_host', where) ??
    (one('hostname') ? expandTokens(one('hostname') ?? '', { h: alias, n: alias }) : undefined) ??
    alias
  const port =
    int(vars.ansible_port, 'ansible_port', where, 1, 65535) ??
    int(vars.ansible_ssh_port, 'ansible_ssh_port', where, 1, 65535) ??
    hop?.port ??
    int(one('port'), `Port in ${ctx.configPath}`, where, 1, 65535) ??
    22
  const user =
    str(vars.ansible_user, 'ansible_user', where) ??
    str(vars.ansible_ssh_user, 'ansible_ssh_user', where) ??
    hop?.user ??
    one('user') ??
    ctx.localUser

  const tokens: Record<string, string> = {
    h: hostname,
    n: alias,
    p: String(port),
    r: user,
    u: ctx.localUser,
    d: ctx.home,
    l: localHostname().split('.')[0] ?? '',
    i: String(process.getuid?.() ?? ''),
  }
  const path = (p: string): string => expandPath(expandTokens(p, tokens), ctx.home)

  // Identity files.
  const keyVar = str(vars.ansible_ssh_private_key_file, 'ansible_ssh_private_key_file', where) ?? str(vars.ansible_private_key_file, 'ansible_private_key_file', where)
  let identityFiles: string[]
  if (keyVar !== undefined) identityFiles = [path(keyVar)]
  else {
    identityFiles = many('identityfile').map(path)
    for (const k of hop?.inheritedKeys ?? []) if (!identityFiles.includes(k)) identityFiles.push(k)
    if (identityFiles.length === 0)
      identityFiles = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(ctx.home, '.ssh', f)).filter((f) => existsSync(f))
  }

  // The agent.
  const identityAgent = one('identityagent')
  let agentSocket: string | undefined
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') agentSocket = ctx.env.SSH_AUTH_SOCK || undefined
  else if (identityAgent.toLowerCase() === 'none') agentSocket = undefined
  else if (identityAgent.startsWith('$')) agentSocket = ctx.env[identityAgent.slice(1).replace(/^\{(.*)\}$/, '$1')] || undefined
  else agentSocket = path(identityAgent)

  // Known hosts.
  const khVar = vars.berth_known_hosts_file
  let knownHostsFiles: string[]
  let globalKnownHostsFiles: string[]
  if (khVar !== undefined && khVar !== null && khVar !== '') {
    const list = Array.isArray(khVar) ? khVar : [khVar]
    if (list.length === 0 || !list.every((f): f is string => typeof f === 'string' && f !== ''))
      throw new ConfigError(`${where}: berth_known_hosts_file must be a path or a list of paths`, { hint: 'for example berth_known_hosts_file: ~/.ssh/known_hosts_lab' })
    knownHostsFiles = list.map(path)
    globalKnownHostsFiles = []
  } else {
    const fromConfig = many('userknownhostsfile').filter((f) => f.toLowerCase() !== 'none')
    knownHostsFiles = fromConfig.length > 0 ? fromConfig.map(path) : [join(ctx.home, '.ssh', 'known_hosts')]
    const global = many('globalknownhostsfile').filter((f) => f.toLowerCase() !== 'none')
    globalKnownHostsFiles = global.length > 0 ? global.map(path) : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']
  }

  // Host key policy.
  //
  // Only 'strict' and 'accept-new' exist. Turning checking off
  // (StrictHostKeyChecking no/off in ssh config, Ansible's host_key_checking=False)
  // is deliberately NOT honoured, and silently so: berth runs unattended, usually
  // as root, and sends become passwords and vault secrets down the connection; a
  // setting typed once for interactive convenience must not let an impostor
  // collect them. First contact is what accept-new is for, and a host rebuilt on
  // purpose is fixed with `ssh-keygen -R`. A config file saying `no` stays strict
  // (the file is shared with the ssh command, so it is not an error); the berth
  // variable with any other value is a ConfigError.
  let hostKeyPolicy: SshTarget['hostKeyPolicy'] = 'strict'
  const policyVar = vars.berth_host_key_checking
  if (policyVar !== undefined && policyVar !== null) {
    if (policyVar === 'accept-new') hostKeyPolicy = 'accept-new'
    else if (policyVar === 'strict' || policyVar === true || policyVar === 'yes') hostKeyPolicy = 'strict'
    else
      throw new ConfigError(`${where}: berth_host_key_checking must be 'strict' or 'accept-new', not ${JSON.stringify(policyVar)}`, {
        hint: "berth never turns host key checking off; use 'accept-new' to record keys of new hosts, or add them with ssh-keyscan",
      })
  } else if (one('stricthostkeychecking')?.toLowerCase() === 'accept-new') hostKeyPolicy = 'accept-new'

  // Timeouts and limits.
  const connectTimeoutS =
    num(vars.berth_connect_timeout, 'berth_connect_timeout', where) ?? num(one('connecttimeout'), `ConnectTimeout in ${ctx.configPath}`, where) ?? DEFAULT_CONNECT_TIMEOUT_S
  const maxSessions = int(vars.berth_ssh_max_sessions, 'berth_ssh_max_sessions', where, 1, 1000) ?? DEFAULT_MAX_SESSIONS

  const target: SshTarget = {
    alias,
    hostname,
    port,
    user,
    identityFiles,
    useAgent: agentSocket !== undefined,
    ...(agentSocket !== undefined ? { agentSocket } : {}),
    knownHostsFiles,
    globalKnownHostsFiles,
    hostKeyPolicy,
    connectTimeoutMs: Math.round(connectTimeoutS * 1000),
    maxSessions,
    keepaliveIntervalMs: KEEPALIVE_INTERVAL_MS,
  }

  // ProxyJump.
  let jump: SshTarget | undefined
  if (hop?.via !== undefined) jump = hop.via ?? undefined
  else {
    const spec = str(vars.berth_proxy_jump, 'berth_proxy_jump', where) ?? one('proxyjump')
    if (spec !== undefined && spec.toLowerCase() !== 'none') {
      const depth = (hop?.depth ?? 0) + 1
      if (depth > MAX_HOPS)
        throw new ConfigError(`${where}: ProxyJump chain is longer than ${MAX_HOPS} hops (a loop?), reached from ${hop?.servedBy ?? alias}`, {
          hint: `check the ProxyJump lines in ${ctx.configPath} and berth_proxy_jump`,
        })
      const inherited: Record<string, unknown> = {}
      for (const k of INHERITED_BY_HOPS) if (vars[k] !== undefined) inherited[k] = vars[k]
      const inheritedKeys = keyVar !== undefined ? identityFiles : []
      // `a,b` means: reach a, from a reach b, from b reach the target.
      let prev: SshTarget | null | undefined = undefined
      for (const [i, s] of spec.split(',').entries()) {
        const h = parseJumpSpec(s.trim(), where)
        const overrides: HopOverrides = { user: h.user, port: h.port, inheritedKeys, depth, servedBy: hop?.servedBy ?? alias }
        if (i > 0) overrides.via = prev ?? null
        prev = resolve(h.host, inherited, ctx, overrides)
      }
      jump = prev ?? undefined
    }
  }
  if (jump) target.proxyJump = jump
  return target
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
export function parseJumpSpec(spec: string, where = 'ProxyJump'): { user?: string; host: string; port?: number } {
  let s = spec.replace(/^ssh:\/\//, '')
  let user: string | undefined
  const at = s.lastIndexOf('@')
  if (at >= 0) {
    user = s.slice(0, at)
    s = s.slice(at + 1)
  }
  let host = s
  let portText: string | undefined
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  if (bracket) {
    host = bracket[1] ?? ''
    portText = bracket[2]
  } else {
    const colon = s.lastIndexOf(':')
    if (colon >= 0 && s.indexOf(':') === colon) {
      host = s.slice(0, colon)
      portText = s.slice(colon + 1)
    }
  }
  if (host === '' || user === '' || /\s/.test(host))
    throw new ConfigError(`${where}: bad jump host '${spec}'`, { hint: "write it as 'user@host:port', 'host', or an alias from ~/.ssh/config" })
  const port = portText === undefined ? undefined : int(portText, `the port of jump host '${spec}'`, where, 1, 65535)
  return { host, ...(user !== undefined ? { user } : {}), ...(port !== undefined ? { port } : {}) }
}

// ---- ssh config loading (with Include) ----

/**
 * Read and parse an ssh config file; a missing file is an empty config.
 * `ssh-config` does not follow Include, so it is expanded here: the included
 * files' lines take the place of the Include line, and when they opened Host or
 * Match blocks of their own the enclosing block's header is repeated after them,
 * so that the lines after the Include belong to the block they were written in
 * (as ssh_config(5) has it). Relative paths are relative to ~/.ssh.
 */
export function loadSshConfig(file: string, home: string = homedir()): SSHConfig {
  let text: string
  try {
    text = expandIncludes(file, home, 0)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`cannot read ssh config ${file}: ${(err as Error).message}`)
  }
  try {
    return SSHConfig.parse(text)
  } catch (err) {
    throw new ConfigError(`cannot parse ssh config ${file}: ${(err as Error).message}`)
  }
}

function expandIncludes(file: string, home: string, depth: number): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return ''
    throw err
  }
  if (!/^\s*include\b/im.test(text)) return text
  if (depth >= MAX_INCLUDE_DEPTH) throw new ConfigError(`ssh config ${file}: Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`)
  const out: string[] = []
  let header = '' // the Host/Match line whose block we are in ('' = before any)
  for (const line of text.split('\n')) {
    const inc = /^\s*include(?:\s*=\s*|\s+)(.*)$/i.exec(line)
    if (!inc) {
      if (/^\s*(host|match)(\s*=\s*|\s+)/i.test(line)) header = line.trim()
      out.push(line)
      continue
    }
    let opened = false
    for (const pattern of splitWords(inc[1] ?? '')) {
      let p = expandPath(pattern, home)
      if (!isAbsolute(p)) p = join(home, '.ssh', p)
      for (const f of globFiles(p)) {
        const sub = expandIncludes(f, home, depth + 1)
        if (/^\s*(host|match)(\s*=\s*|\s+)/im.test(sub)) opened = true
        out.push(sub)
      }
    }
    if (opened) out.push(header === '' ? 'Host *' : header)
  }
  return out.join('\n')
}

function splitWords(s: string): string[] {
  const words: string[] = []
  for (const m of s.matchAll(/"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? '')
  return words.filter((w) => w !== '')
}

/** Expand `*` and `?` in a path, sorted as glob(3) returns them. */
function globFiles(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return existsSync(pattern) ? [pattern] : []
  const parts = pattern.split('/')
  let bases = [parts[0] === '' ? '/' : '.']
  for (const part of parts.slice(parts[0] === '' ? 1 : 0)) {
    if (part === '') continue
    const next: string[] = []
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        const p = join(base, part)
        if (existsSync(p)) next.push(p)
        continue
      }
      const re = new RegExp('^' + part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$')
      let names: string[] = []
      try {
        names = readdirSync(base)
      } catch {
        names = []
      }
      for (const n of names.sort()) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(join(base, n))
    }
    bases = next
  }
  return bases
}

// ---- small helpers ----

/** `~` and `~/x` to the home directory. */
export function expandPath(p: string, home: string): string {
  if (p === '~') return home
  if (p.startsWith('~/')) return join(home, p.slice(2))
  return p
}

/** ssh_config(5) TOKENS: %% and the single letters given; unknown tokens stay as written. */
export function expandTokens(s: string, tokens: Record<string, string>): string {
  return s.replace(/%(.)/g, (whole, c: string) => (c === '%' ? '%' : (tokens[c] ?? whole)))
}

function str(v: unknown, name: string, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  throw new ConfigError(`${where}: ${name} must be a string, not ${JSON.stringify(v)}`)
}

function num(v: unknown, name: string, where: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${where}: ${name} must be a positive number of seconds, not ${JSON.stringify(v)}`)
  return n
}

function int(v: unknown, name: string, where: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${where}: ${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`)
  return n
}

// For callers that want to show where a target came from.
export function describeTarget(t: SshTarget): string {
  const via: string[] = []
  for (let j = t.proxyJump; j; j = j.proxyJump) via.unshift(j.alias)
  return `ssh ${t.user}@${t.hostname}:${t.port}${via.length ? ` via ${via.join(', ')}` : ''}`
}
