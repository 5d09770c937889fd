// Shared fixtures for the PostgreSQL role tests: real pg_controldata output and
// the data directory probe output built around it, as dataDirFact's script prints it.
import type { ProbeOutput } from '../../../src/facts/fact.ts'

/** `LC_ALL=C pg_controldata` on a running PostgreSQL 15 standby (captured on a running standby; no secrets in it). */
export const CONTROLDATA_STANDBY_RUNNING = `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7714597812895791290
Database cluster state:               in archive recovery
pg_control last modified:             Wed Dec  2 07:00:14 2026
Latest checkpoint location:           0/3000060
Latest checkpoint's REDO location:    0/3000028
Latest checkpoint's REDO WAL file:    000000010000000000000003
Latest checkpoint's TimeLineID:       1
Latest checkpoint's PrevTimeLineID:   1
Latest checkpoint's full_page_writes: on
Latest checkpoint's NextXID:          0:727
Latest checkpoint's NextOID:          16387
Latest checkpoint's NextMultiXactId:  1
Latest checkpoint's NextMultiOffset:  0
Latest checkpoint's oldestXID:        716
Latest checkpoint's oldestXID's DB:   1
Latest checkpoint's oldestActiveXID:  727
Latest checkpoint's oldestMultiXid:   1
Latest checkpoint's oldestMulti's DB: 1
Latest checkpoint's oldestCommitTsXid:0
Latest checkpoint's newestCommitTsXid:0
Time of latest checkpoint:            Wed Dec  2 07:00:09 2026
Fake LSN counter for unlogged rels:   0/3E8
Minimum recovery ending location:     0/4045CD8
Min recovery ending loc's timeline:   1
Backup start location:                0/0
Backup end location:                  0/0
End-of-backup record required:        no
wal_level setting:                    replica
wal_log_hints setting:                on
max_connections setting:              100
max_worker_processes setting:         8
max_wal_senders setting:              10
max_prepared_xacts setting:           0
max_locks_per_xact setting:           64
track_commit_timestamp setting:       off
Maximum data alignment:               8
Database block size:                  8192
Blocks per segment of large relation: 131072
WAL block size:                       8192
Bytes per WAL segment:                16777216
Maximum length of identifiers:        64
Maximum columns in an index:          32
Maximum size of a TOAST chunk:        1996
Size of a large-object chunk:         2048
Date/time type storage:               64-bit integers
Float8 argument passing:              by value
Data page checksum version:           0
Mock authentication nonce:            f319bc3df9677a0406436d8372f49e73aea6e17d1ba60df0f0552243abb1a8e0
`

/** The same control file text with the cluster state and NextOID replaced. */
export function controldata(state: string, nextOid: number): string {
  return CONTROLDATA_STANDBY_RUNNING.replace(/^Database cluster state:.*$/m, `Database cluster state:               ${state}`).replace(
    /^Latest checkpoint's NextOID:.*$/m,
    `Latest checkpoint's NextOID:          ${nextOid}`,
  )
}

export const ok = (stdout: string, stderr = ''): ProbeOutput => ({ code: 0, stdout, stderr })

/**
 * The data directory probe's output for a cluster: `objects` is what the
 * `--objects--` section holds (a count, 'unknown', or undefined when there is
 * no postmaster.pid and the section stays empty).
 */
export function clusterProbe(o: { version?: number; standby?: boolean; control?: string; objects?: string }): ProbeOutput {
  const lines = ['kind=cluster', `version=${o.version ?? 15}`]
  if (o.standby) lines.push('standby=1')
  lines.push('--controldata--')
  const control = o.control ?? CONTROLDATA_STANDBY_RUNNING
  const out = lines.join('\n') + '\n' + control + (control.endsWith('\n') ? '' : '\n') + '--objects--\n' + (o.objects === undefined ? '' : `${o.objects}\n`) + '--end--\n'
  return ok(out)
}

/** The error of class `kind` that `f` throws, for checks on its message and hint. */
export function thrownBy<E extends Error>(kind: abstract new (...args: never[]) => E, f: () => unknown): E {
  try {
    f()
  } catch (e) {
    if (e instanceof kind) return e
    throw new Error(`expected a ${kind.name}, got ${String(e)}`)
  }
  throw new Error(`expected a ${kind.name}, nothing was thrown`)
}
