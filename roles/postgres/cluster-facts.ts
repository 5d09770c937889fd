// Read-only probes of a host's PostgreSQL: the clusters postgresql-common knows,
// what a data directory holds, and what apt could install. Each is a command
// and a pure parser (tested on captured output in test/unit/postgres/).
import { fact, sh, type Fact, type ProbeOutput } from '../../src/index.ts'
import { binDir } from './layout.ts'

export interface ClusterEntry {
  version: number
  name: string
  port: number
  /** 'online', 'down', 'online,recovery'… */
  status: string
  owner: string
  dataDir: string
}

/** `pg_lsclusters --no-header`; no postgresql-common yet means no clusters. */
export function parseClusters(output: ProbeOutput): ClusterEntry[] {
  if (output.code === 127 || (output.code !== 0 && /not found/.test(output.stderr))) return []
  if (output.code !== 0) throw new Error(output.stderr.trim() || `pg_lsclusters exited with code ${output.code}`)
  const out: ClusterEntry[] = []
  for (const line of output.stdout.split('\n')) {
    if (!line.trim()) continue
    const [version, name, port, status, owner, dataDir] = line.trim().split(/\s+/)
    if (!version || !name || !port || !status || !owner || !dataDir) throw new Error(`unexpected pg_lsclusters line: ${JSON.stringify(line)}`)
    out.push({ version: Number(version), name, port: Number(port), status, owner, dataDir })
  }
  return out
}

export const clustersFact: Fact<ClusterEntry[]> = fact('pg-clusters', sh`pg_lsclusters --no-header`, parseClusters, { slow: true })

export type DataDirState =
  | { kind: 'absent' | 'empty' | 'not-a-directory' | 'other-files' }
  | {
      kind: 'cluster'
      /** PG_VERSION */
      version: number
      /** standby.signal is there: the cluster starts as a standby. */
      standby: boolean
      /** pg_controldata's "Database system identifier": same value, same cluster lineage. */
      systemId: string | undefined
      /** pg_controldata's "Database cluster state": 'shut down', 'in production', 'in archive recovery'… */
      state: string | undefined
      nextOid: number | undefined
      /** A postmaster.pid is there and the server answered the query below. */
      running: boolean
      /** Databases and relations with user OIDs (>= 16384), when the server answered. */
      userObjects: number | undefined
    }

/** The first OID a user object can get (FirstNormalObjectId in PostgreSQL's source). */
export const FIRST_USER_OID = 16384

/**
 * Fresh from initdb, nothing ever created in it: safe to replace. A running
 * server is asked; a stopped one must have shut down cleanly with no user OID
 * ever handed out. Anything unclear (a crash, an unreadable control file) is
 * not pristine: berth then refuses rather than guesses.
 */
export function isPristine(d: DataDirState): boolean {
  if (d.kind !== 'cluster') return false
  if (d.running) return d.userObjects === 0
  return (d.state === 'shut down' || d.state === 'shut down in recovery') && d.nextOid !== undefined && d.nextOid <= FIRST_USER_OID
}

/** A probe's section: the lines between its `--name--` marker line and the next marker (empty when there are none; '' when the marker is missing). */
export function probeSection(text: string, name: string): string {
  const lines = text.split('\n')
  const start = lines.indexOf(`--${name}--`)
  if (start < 0) return ''
  const end = lines.findIndex((l, i) => i > start && /^--[a-z]+--$/.test(l))
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n')
}

/** One field of pg_controldata's output (`Label:   value`), run with LC_ALL=C. */
export function controlDataField(controldata: string, label: string): string | undefined {
  for (const line of controldata.split('\n')) if (line.startsWith(label + ':')) return line.slice(label.length + 1).trim()
  return undefined
}

export function parseDataDir(output: ProbeOutput): DataDirState {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `the data directory probe exited with code ${output.code}`)
  const text = output.stdout
  const kind = /^kind=(.*)$/m.exec(text)?.[1]
  if (kind === 'absent' || kind === 'empty' || kind === 'not-a-directory' || kind === 'other-files') return { kind }
  if (kind !== 'cluster') throw new Error(`unexpected data directory probe output: ${JSON.stringify(text.slice(0, 200))}`)
  const control = probeSection(text, 'controldata')
  const field = (label: string): string | undefined => controlDataField(control, label)
  const nextOid = field("Latest checkpoint's NextOID")
  const objects = probeSection(text, 'objects').trim()
  return {
    kind: 'cluster',
    version: Number(/^version=(.*)$/m.exec(text)?.[1]),
    standby: /^standby=1$/m.test(text),
    systemId: field('Database system identifier'),
    state: field('Database cluster state'),
    nextOid: nextOid === undefined ? undefined : Number(nextOid),
    running: /^\d+$/.test(objects),
    userObjects: /^\d+$/.test(objects) ? Number(objects) : undefined,
  }
}

const USER_OBJECTS_SQL = `select (select count(*) from pg_database where oid >= ${FIRST_USER_OID}) + (select count(*) from pg_class where oid >= ${FIRST_USER_OID})`

/** What `dir` holds. `version` picks pg_controldata; the server is asked only when it runs there. */
export function dataDirFact(dir: string, version: number): Fact<DataDirState> {
  const bin = binDir(version)
  // postmaster.pid line 4 is the port, line 5 the socket directory (PostgreSQL's documented layout).
  const script = sh`d=${dir}
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo kind=not-a-directory; exit 0; fi
if [ ! -e "$d" ]; then echo kind=absent; exit 0; fi
if [ ! -f "$d/PG_VERSION" ]; then if [ -z "$(ls -A "$d")" ]; then echo kind=empty; else echo kind=other-files; fi; exit 0; fi
echo kind=cluster
echo "version=$(cat "$d/PG_VERSION")"
if [ -f "$d/standby.signal" ]; then echo standby=1; fi
echo --controldata--
LC_ALL=C ${bin}/pg_controldata "$d" 2>&1 || true
echo --objects--
if [ -f "$d/postmaster.pid" ]; then
  port=$(sed -n 4p "$d/postmaster.pid"); sock=$(sed -n 5p "$d/postmaster.pid")
  for db in postgres template1; do (cd / && runuser -u postgres -- ${bin}/psql -XAtq -h "$sock" -p "$port" -d "$db" -c ${USER_OBJECTS_SQL}) 2>/dev/null || echo unknown; done | { s=0; while read -r n; do case $n in ''|*[!0-9]*) echo unknown; exit 0;; esac; s=$((s + n)); done; echo $s; }
fi
echo --end--`
  return fact(`pg-data-dir:${version}:${dir}`, script, parseDataDir)
}

export interface AptCandidate {
  installed: string | undefined
  candidate: string | undefined
}

/** `apt-cache policy PKG`: nothing printed means apt has never heard of it. */
export function parseAptPolicy(output: ProbeOutput): AptCandidate {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `apt-cache exited with code ${output.code}`)
  const value = (label: string): string | undefined => {
    const v = new RegExp(`^\\s*${label}:\\s*(\\S+)`, 'm').exec(output.stdout)?.[1]
    return v === undefined || v === '(none)' ? undefined : v
  }
  return { installed: value('Installed'), candidate: value('Candidate') }
}

export function aptCandidateFact(pkg: string): Fact<AptCandidate> {
  return fact(`apt-policy:${pkg}`, sh`LC_ALL=C apt-cache policy ${pkg}`, parseAptPolicy, { slow: true })
}
