// known_hosts as OpenSSH reads and writes it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
//
//   [@marker] hostpatterns keytype base64-key [comment]
//
// hostpatterns is a comma list of names with `*`/`?` wildcards and `!` negation,
// written `host` for port 22 and `[host]:port` otherwise, or one hashed name
// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` (HashKnownHosts / ssh-keygen -H).
// Markers: `@revoked` (that key is refused for the matching hosts) and
// `@cert-authority` (a CA for host certificates: berth does not use host
// certificates, so these lines are ignored).
//
// Pure functions over parsed entries, plus the small file I/O needed to load the
// files and append an accepted key (accept-new).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

export type KnownHostMarker = 'revoked' | 'cert-authority'

export interface KnownHostEntry {
  /** The file the entry was read from. */
  file: string
  /** 1-based line number in that file. */
  line: number
  marker?: KnownHostMarker
  /** The host pattern field as written: `a,b,[c]:2222` or `|1|salt|hash`. */
  hosts: string
  /** The key type as written (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`...). */
  keyType: string
  /** The public key blob (the decoded base64 field). */
  key: Buffer
}

/** How OpenSSH names a host in known_hosts: `host` for port 22, `[host]:port` otherwise. */
export function knownHostName(hostname: string, port: number): string {
  const h = hostname.toLowerCase()
  return port === 22 ? h : `[${h}]:${port}`
}

/** Parse one known_hosts file's text. Comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '').trim()
    if (raw === '' || raw.startsWith('#')) continue
    const fields = raw.split(/[ \t]+/)
    let marker: KnownHostMarker | undefined
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()
      if (m === '@revoked') marker = 'revoked'
      else if (m === '@cert-authority') marker = 'cert-authority'
      else continue // an unknown marker: OpenSSH skips the line too
    }
    const [hosts, keyType, b64] = fields
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue
    const key = Buffer.from(b64, 'base64')
    // The blob names its own type; a line whose type field disagrees is corrupt.
    if (keyTypeOfBlob(key) !== keyType) continue
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key })
  }
  return entries
}

/** The key type written inside an SSH public key blob (its first string), or undefined. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const len = blob.readUInt32BE(0)
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined
  return blob.subarray(4, 4 + len).toString('latin1')
}

/** `SHA256:…` as `ssh-keygen -l` and ssh print it: base64 without padding. */
export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')
}

/** A hashed host name as `ssh-keygen -H` writes it; a random salt unless one is given. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest()
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|') // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false
  const salt = Buffer.from(parts[2], 'base64')
  const want = Buffer.from(parts[3], 'base64')
  const got = createHmac('sha1', salt).update(name).digest()
  return want.length === got.length && timingSafeEqual(want, got)
}

function wildcardMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${re}$`).test(name)
}

/**
 * Does a host pattern field match `name` (as given by knownHostName)? Names are
 * compared case-insensitively; a matching negated pattern (`!x`) wins over
 * any positive one, as in OpenSSH's match_hostname.
 */
export function hostPatternMatches(field: string, name: string): boolean {
  const n = name.toLowerCase()
  if (field.startsWith('|')) return hashedMatches(field, n)
  let matched = false
  for (const p of field.toLowerCase().split(',')) {
    if (p === '') continue
    if (p.startsWith('!')) {
      if (wildcardMatches(p.slice(1), n)) return false
    } else if (wildcardMatches(p, n)) matched = true
  }
  return matched
}

export type HostKeyVerdict =
  /** The offered key is on record for this host. */
  | { status: 'match'; entry: KnownHostEntry }
  /** The offered key is marked @revoked for this host. */
  | { status: 'revoked'; entry: KnownHostEntry }
  /** The host has keys on record and the offered one is none of them. */
  | { status: 'mismatch'; recorded: KnownHostEntry[] }
  /** Nothing on record for this host. */
  | { status: 'unknown' }

/** The plain (unmarked) entries that apply to `name`. */
export function entriesFor(entries: readonly KnownHostEntry[], name: string): KnownHostEntry[] {
  return entries.filter((e) => e.marker === undefined && hostPatternMatches(e.hosts, name))
}

/** Check the key a server offered against what is on record for `name`. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  for (const e of entries)
    if (e.marker === 'revoked' && e.key.equals(key) && hostPatternMatches(e.hosts, name)) return { status: 'revoked', entry: e }
  const recorded = entriesFor(entries, name)
  const hit = recorded.find((e) => e.key.equals(key))
  if (hit) return { status: 'match', entry: hit }
  return recorded.length > 0 ? { status: 'mismatch', recorded } : { status: 'unknown' }
}

// ssh2's host key algorithms, most preferred first, and which recorded key type each needs.
const HOST_KEY_ALGORITHMS: readonly (readonly [algorithm: string, keyType: string])[] = [
  ['ssh-ed25519', 'ssh-ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
  ['ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384'],
  ['ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp521'],
  ['rsa-sha2-512', 'ssh-rsa'],
  ['rsa-sha2-256', 'ssh-rsa'],
  ['ssh-rsa', 'ssh-rsa'],
  ['ssh-dss', 'ssh-dss'],
]

/**
 * The host key algorithms to offer so that the server picks a key we have on
 * record (as OpenSSH orders its HostKeyAlgorithms by known_hosts). Empty when
 * none of the recorded types is one ssh2 speaks (then keep ssh2's default list).
 */
export function hostKeyAlgorithmsFor(recorded: readonly KnownHostEntry[]): string[] {
  const types = new Set(recorded.map((e) => e.keyType))
  return HOST_KEY_ALGORITHMS.filter(([, t]) => types.has(t)).map(([a]) => a)
}

/** Parse every file in order; a missing file holds no entries, an unreadable one throws. */
export function loadKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const all: KnownHostEntry[] = []
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    all.push(...parseKnownHosts(text, file))
  }
  return all
}

/**
 * Append `name keytype base64` to a known_hosts file as ssh's accept-new does,
 * creating its directory (0700) and the file (0600) when missing. Returns the
 * line number of the new entry.
 */
export function appendKnownHost(file: string, name: string, key: Buffer): number {
  const keyType = keyTypeOfBlob(key)
  if (!keyType) throw new Error('not an SSH public key blob')
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  let before = ''
  try {
    if (statSync(file).size > 0) before = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    closeSync(openSync(file, 'a', 0o600))
  }
  const prefix = before !== '' && !before.endsWith('\n') ? '\n' : ''
  appendFileSync(file, `${prefix}${name} ${keyType} ${key.toString('base64')}\n`, { mode: 0o600 })
  const lines = before === '' ? 0 : before.split('\n').length - (prefix ? 0 : 1)
  return lines + 1
}
