// The Harbor releases harbor-node supports, and what each one's prepare reads
// from harbor.yml where releases differ. From ../shared/docs/harbor.md (read
// from goharbor/harbor's make/harbor.yml.tmpl and make/photon/prepare/ at each
// tag). The harbor.yml templates follow these key sets; this file decides
// which one a version gets and refuses the rest by name.

export const SUPPORTED_HARBOR_VERSIONS = ['2.3', '2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '2.13', '2.14', '2.15'] as const
export type HarborVersion = (typeof SUPPORTED_HARBOR_VERSIONS)[number]

/** '2.11' or '2.11.1' -> 2.11's minor number (11); undefined for anything else. */
export function harborMinorOf(version: string): number | undefined {
  const m = /^2\.(\d+)(?:\.\d+)?$/.exec(version)
  return m ? Number(m[1]) : undefined
}

/** What a release's prepare reads, where releases differ (each a fact of harbor.md's table). */
export interface HarborKeySet {
  minor: number
  /** 2.4+: trivy.timeout. */
  trivyTimeout: boolean
  /** 2.5+: trivy.offline_scan, upload_purging. */
  offlineScan: boolean
  /** 2.6+: cache { enabled, expire_hours }. */
  cache: boolean
  /** 2.7+: external_database.harbor.conn_max_lifetime / conn_max_idle_time. */
  connLifetimes: boolean
  /** Up to 2.7: ChartMuseum, with external_redis.chartmuseum_db_index. */
  chartmuseum: boolean
  /** 2.8+: jobservice.logger_sweeper_duration and notification.webhook_job_http_client_timeout are required; external_redis.username. */
  loggerSweeper: boolean
  /** Up to 2.8: Notary's databases (notary_signer, notary_server) exist. */
  notary: boolean
  /** 2.9+: jobservice.job_loggers required; external PostgreSQL 12 or newer; optional harbor_db_index, cache_layer_db_index. */
  jobLoggers: boolean
  /** 2.11+: ip_family. */
  ipFamily: boolean
  /** 2.13+: jobservice.max_job_duration_hours. */
  maxJobDuration: boolean
}

/** The key set of a supported version; undefined for one berth does not support. */
export function harborKeySet(version: string): HarborKeySet | undefined {
  const minor = harborMinorOf(version)
  if (minor === undefined || !SUPPORTED_HARBOR_VERSIONS.includes(`2.${minor}` as HarborVersion)) return undefined
  return {
    minor,
    trivyTimeout: minor >= 4,
    offlineScan: minor >= 5,
    cache: minor >= 6,
    connLifetimes: minor >= 7,
    chartmuseum: minor <= 7,
    loggerSweeper: minor >= 8,
    notary: minor <= 8,
    jobLoggers: minor >= 9,
    ipFamily: minor >= 11,
    maxJobDuration: minor >= 13,
  }
}

/**
 * The harbor.yml keys whose absence makes this release's prepare fail
 * (PREPARE-FACTS.md §1): a KeyError in parse_yaml_config, or, for log.local,
 * later in the same run. Conditional ones are listed for the blocks harbor-node
 * always writes (external_database).
 */
export function requiredHarborYmlKeys(k: HarborKeySet): string[] {
  return [
    'hostname',
    'data_volume',
    'harbor_admin_password',
    'jobservice.max_job_workers',
    ...(k.jobLoggers ? ['jobservice.job_loggers'] : []),
    ...(k.loggerSweeper ? ['jobservice.logger_sweeper_duration'] : []),
    'notification.webhook_job_max_retry',
    ...(k.loggerSweeper ? ['notification.webhook_job_http_client_timeout'] : []),
    'log.level',
    'log.local',
    ...['host', 'port', 'db_name', 'username', 'password', 'ssl_mode'].map((key) => `external_database.harbor.${key}`),
  ]
}
