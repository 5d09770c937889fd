// Where Debian's postgresql-common puts a cluster: binaries per version, the
// configuration under /etc, one systemd unit per cluster.
export interface ClusterId {
  version: number
  cluster: string
}

/** The versions berth's PostgreSQL roles accept; Harbor 2.9 and later need 12 or newer. */
export const SUPPORTED_VERSIONS: readonly number[] = [12, 13, 14, 15, 16, 17]

export const binDir = (version: number): string => `/usr/lib/postgresql/${version}/bin`
export const confDir = (c: ClusterId): string => `/etc/postgresql/${c.version}/${c.cluster}`
export const unitName = (c: ClusterId): string => `postgresql@${c.version}-${c.cluster}`
/** The cluster the package would create on its own (create_main_cluster). */
export const packageDefaultDataDir = (c: ClusterId): string => `/var/lib/postgresql/${c.version}/${c.cluster}`
/** The postgres account's home on Debian: where libpq looks for .pgpass. */
export const POSTGRES_HOME = '/var/lib/postgresql'
/** postgresql-common reads every file here when it creates a cluster. */
export const CREATECLUSTER_CONF = '/etc/postgresql-common/createcluster.d/50-berth.conf'

/** A replication slot name for a standby host: lower case, digits and underscores. */
export function slotNameFor(hostName: string): string {
  const s = hostName.toLowerCase().replace(/[^a-z0-9_]/g, '_')
  return s.slice(0, 63)
}
