// Who is the primary, from the hosts themselves: each database host says
// whether its server runs and as what, its timeline and WAL position, its
// system identifier, and whether it was fenced. The inventory's groups say what
// should be; after a failover they lag behind, and berth must never start the
// old primary as a second one. A fact per host, a pure judgment over all.
import { BerthError, fact, sh, type Fact, type ProbeOutput } from '../../src/index.ts'
import { controlDataField, probeSection } from './cluster-facts.ts'
import { binDir } from './layout.ts'

/** Where a fenced host keeps the record that it must not start as a primary (persistent: it survives a reboot). */
export const FENCE_FILE = '/var/lib/berth/postgres/fenced'

export type PgRole = 'primary' | 'standby' | 'down' | 'absent'

export interface PgNode {
  role: PgRole
  systemId?: string | undefined
  /** Primary: its current timeline; standby: what it receives or last replayed; down: its last checkpoint's. */
  timeline?: number | undefined
  /** Primary: pg_current_wal_lsn; standby: received (replayed when it never streamed); down: the last checkpoint's location. */
  lsn?: string | undefined
  replayLsn?: string | undefined
  /** pg_controldata's "Database cluster state". */
  controlState?: string | undefined
  standbySignal: boolean
  /** The fence record, when the host was fenced. */
  fenced?: string | undefined
  /** A standby's WAL receiver: 'streaming 10.77.0.11'. */
  upstream?: string | undefined
}

/** An LSN ('16/B374D848') as a number of bytes. */
export function lsnBytes(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim())
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(lsn)}`)
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`)
}

/** Bytes from b to a (a - b), as a Number (WAL distances fit). */
export const lsnDiff = (a: string, b: string): number => Number(lsnBytes(a) - lsnBytes(b))

const STATE_SQL = [
  "case when pg_is_in_recovery() then 'standby' else 'primary' end",
  '(select system_identifier from pg_control_system())',
  // A primary's timeline is its WAL file's; a standby's the newest it has received or checkpointed.
  "case when pg_is_in_recovery() then greatest(coalesce((select received_tli from pg_stat_wal_receiver), 0), (select timeline_id from pg_control_checkpoint())) else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end",
  'case when pg_is_in_recovery() then coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) else pg_current_wal_lsn() end',
  "coalesce(pg_last_wal_replay_lsn()::text, '')",
  "coalesce((select status || ' ' || sender_host from pg_stat_wal_receiver), '')",
].join(', ')

export interface TopologyProbeInput {
  version: number
  port: number
  dataDir: string
}

/** The probe: read-only, as root; the server is asked only when it runs. */
export function topologyScript(i: TopologyProbeInput) {
  const bin = binDir(i.version)
  return sh`d=${i.dataDir}
if [ ! -f "$d/PG_VERSION" ]; then echo role=absent; exit 0; fi
echo --controldata--
LC_ALL=C ${bin}/pg_controldata "$d" 2>&1 || true
echo --signal--
if [ -f "$d/standby.signal" ]; then echo standby; fi
echo --fence--
cat ${FENCE_FILE} 2>/dev/null || true
echo --server--
(cd / && runuser -u postgres -- ${bin}/psql -XAtq -F '|' -p ${i.port} -d postgres -c ${`select ${STATE_SQL}`}) 2>&1 || true
echo --end--`
}

export function parsePgNode(output: ProbeOutput): PgNode {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `the topology probe exited with code ${output.code}`)
  const text = output.stdout
  if (/^role=absent$/m.test(text)) return { role: 'absent', standbySignal: false }
  const control = probeSection(text, 'controldata')
  const field = (label: string): string | undefined => controlDataField(control, label)
  const standbySignal = probeSection(text, 'signal').trim() === 'standby'
  const fenced = probeSection(text, 'fence').trim() || undefined
  const server = probeSection(text, 'server').trim()
  const row = /^(primary|standby)\|(\d+)\|(\d+)\|([0-9A-F]+\/[0-9A-F]+)\|([0-9A-F/]*)\|(.*)$/m.exec(server)
  const systemId = row?.[2] ?? field('Database system identifier')
  const controlState = field('Database cluster state')
  if (row)
    return {
      role: row[1] as 'primary' | 'standby',
      systemId,
      timeline: Number(row[3]),
      lsn: row[4],
      replayLsn: row[5] || undefined,
      controlState,
      standbySignal,
      fenced,
      upstream: row[6] || undefined,
    }
  // Only a refused connection means the server is down; any other answer without the row is not understood.
  if (server !== '' && !/connection to server .* failed/.test(server)) throw new Error(`the server answered the topology query unexpectedly: ${server.slice(0, 300)}`)
  const tli = field("Latest checkpoint's TimeLineID")
  return { role: 'down', systemId, timeline: tli === undefined ? undefined : Number(tli), lsn: field('Latest checkpoint location'), controlState, standbySignal, fenced }
}

export function pgNodeFact(i: TopologyProbeInput): Fact<PgNode> {
  return fact(`pg-topology:${i.version}:${i.port}:${i.dataDir}`, topologyScript(i), parsePgNode, { slow: true })
}

/** One line for reports: 'primary, timeline 2, 0/5000060'. */
export function describeNode(n: PgNode | { unreachable: string }): string {
  if ('unreachable' in n) return `unreachable (${n.unreachable})`
  if (n.role === 'absent') return 'no cluster'
  const parts: string[] = [n.role === 'down' ? `down (${n.controlState ?? 'state unknown'}${n.standbySignal ? ', standby.signal' : ''})` : n.role]
  if (n.timeline !== undefined) parts.push(`timeline ${n.timeline}`)
  if (n.lsn) parts.push(n.role === 'down' ? `checkpoint ${n.lsn}` : n.lsn)
  if (n.role === 'standby' && n.upstream) parts.push(`from ${n.upstream}`)
  if (n.fenced) parts.push('FENCED')
  return parts.join(', ')
}

export type Observed = ReadonlyMap<string, PgNode | { unreachable: string }>

/**
 * Pure: does the inventory's primary agree with what the hosts say? Throws,
 * naming the host that is the primary and how to make the inventory agree,
 * when converging would start or keep a second primary:
 * - two servers accept writes (split brain): stop, whatever the inventory says;
 * - another host accepts writes, or is on a later timeline than the inventory's primary (it was promoted);
 * - the inventory's primary was fenced, or runs as a standby.
 * Hosts that cannot be asked are left out (the plays skip them anyway).
 */
export function judgeTopology(inventoryPrimary: string, observed: Observed, howToOverride: string, opts: { explicit?: boolean } = {}): string {
  const known = [...observed].filter((e): e is [string, PgNode] => !('unreachable' in e[1]))
  const writable = known.filter(([, n]) => n.role === 'primary').map(([h]) => h)
  const show = (h: string) => `${h} (${describeNode(observed.get(h) as PgNode)})`
  if (writable.length > 1)
    throw new BerthError(`split brain: ${writable.map(show).join(' and ')} both accept writes; berth changes nothing while two primaries run`, {
      hint: `keep the one with the data you trust (the newer timeline is the promoted one), stop the other now (systemctl stop postgresql@…) and rejoin it as a standby (npm run drill -- pg-failover shows how; or pg_rewind by hand), then run again`,
    })
  const mine = observed.get(inventoryPrimary)
  const me = mine && !('unreachable' in mine) ? mine : undefined
  const other = writable.find((h) => h !== inventoryPrimary)
  // Named explicitly (the override), the primary is the operator's choice over a later timeline elsewhere: never over a running primary.
  const later = known.filter(([h, n]) => !opts.explicit && h !== inventoryPrimary && me?.timeline !== undefined && n.timeline !== undefined && n.timeline > me.timeline && me.systemId === n.systemId)
  const promoted = other ?? later.sort((a, b) => (b[1].timeline ?? 0) - (a[1].timeline ?? 0))[0]?.[0]
  if (promoted)
    throw new BerthError(
      `the inventory says ${inventoryPrimary} is the PostgreSQL primary, but ${show(promoted)} is${other ? ' the primary' : ' on a later timeline: it was promoted'}; ${inventoryPrimary} is ${me ? describeNode(me) : 'not known'}. Converging now would start a second primary`,
      {
        hint:
          `make the inventory agree: put ${promoted} in group pg_primary and ${inventoryPrimary} in pg_standby, or run with ${howToOverride.replace('HOST', promoted)}; ${inventoryPrimary} then rejoins as a standby of ${promoted}` +
          (other ? '' : `. To keep ${inventoryPrimary} as the primary instead (what ${promoted} wrote since its promotion is then set aside, kept beside with replaceDataDir), run with ${howToOverride.replace('HOST', inventoryPrimary)}`),
      },
    )
  // Named explicitly, a fenced primary is the operator's decision (the tier lifts the fence).
  if (me?.fenced && !opts.explicit)
    throw new BerthError(`${inventoryPrimary} is fenced and must not start as a primary: ${me.fenced}`, {
      hint: `it was failed over: make the inventory name the promoted host as the primary (${howToOverride.replace('HOST', 'NEW_PRIMARY')}); rejoining ${inventoryPrimary} as a standby lifts the fence. If it really is the primary, ${howToOverride.replace('HOST', inventoryPrimary)} lifts the fence and starts it`,
    })
  if (me?.role === 'standby')
    throw new BerthError(`the inventory says ${inventoryPrimary} is the PostgreSQL primary, but it runs as a standby (${describeNode(me)}) and no host accepts writes`, {
      hint: `promote the host that should be the primary first (npm run drill -- pg-switchover does it safely), or put ${inventoryPrimary} in pg_standby`,
    })
  return `${inventoryPrimary} is the primary (${me ? describeNode(me) : 'not reachable'}); ${known.filter(([h]) => h !== inventoryPrimary).map(([h, n]) => `${h}: ${describeNode(n)}`).join('; ') || 'no other database host answered'}`
}
