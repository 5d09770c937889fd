// pg_hba.conf entries: addresses normalised to what PostgreSQL accepts, so a
// bad address fails when the play is built, not when the server reloads.
import { isIPv4, isIPv6 } from 'node:net'

const KEYWORDS = new Set(['all', 'samehost', 'samenet'])

/** '10.0.0.5' -> '10.0.0.5/32', '10.0.0.0/24' kept, keywords kept; anything else throws. */
export function hbaAddress(address: string): string {
  const a = address.trim()
  if (KEYWORDS.has(a)) return a
  const [ip, bits, extra] = a.split('/')
  if (extra !== undefined || !ip) throw new Error(`'${address}' is not an address, a CIDR range or one of all, samehost, samenet`)
  const v4 = isIPv4(ip)
  if (!v4 && !isIPv6(ip)) throw new Error(`'${address}' is not an IPv4 or IPv6 address (host names are not accepted: they are resolved at every connection)`)
  const max = v4 ? 32 : 128
  if (bits === undefined) return `${ip}/${max}`
  if (!/^\d+$/.test(bits) || Number(bits) > max) throw new Error(`'${address}' has a bad prefix length (0 to ${max})`)
  return `${ip}/${bits}`
}

export interface HbaRule {
  type: 'local' | 'host'
  database: string
  user: string
  /** '' for local rules. */
  address: string
  method: 'peer' | 'scram-sha-256' | 'reject'
}

/** The rules berth writes: local peer for the OS users, passwords over the network. */
export function hbaRules(opts: {
  replicationUser: string
  replicationFrom: readonly string[]
  clientUser: string
  clientDatabases: readonly string[]
  clientsFrom: readonly string[]
}): HbaRule[] {
  const rules: HbaRule[] = [
    { type: 'local', database: 'all', user: 'postgres', address: '', method: 'peer' },
    { type: 'local', database: 'all', user: 'all', address: '', method: 'peer' },
    { type: 'host', database: 'all', user: 'all', address: '127.0.0.1/32', method: 'scram-sha-256' },
    { type: 'host', database: 'all', user: 'all', address: '::1/128', method: 'scram-sha-256' },
    { type: 'local', database: 'replication', user: 'all', address: '', method: 'peer' },
  ]
  for (const a of opts.replicationFrom) rules.push({ type: 'host', database: 'replication', user: opts.replicationUser, address: hbaAddress(a), method: 'scram-sha-256' })
  if (opts.clientDatabases.length > 0)
    for (const a of opts.clientsFrom) rules.push({ type: 'host', database: opts.clientDatabases.join(','), user: opts.clientUser, address: hbaAddress(a), method: 'scram-sha-256' })
  return rules
}
