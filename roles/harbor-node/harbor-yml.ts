// harbor.yml from harbor-node's options: one ejs template whose blocks follow
// the release's key set (versions.ts), values quoted as YAML (JSON strings are
// YAML), never concatenated by hand.
import { fileURLToPath } from 'node:url'
import { renderTemplate, reveal } from '../../src/index.ts'
import type { HarborNodeOptions } from './options.ts'
import { harborKeySet, harborMinorOf } from './versions.ts'

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))

/** Where the role keeps the HTTPS certificate and key it writes (prepare reads them from the host). */
export const TLS_DIR = '/etc/harbor/tls'
export const tlsPaths = (hostname: string) => ({ certificate: `${TLS_DIR}/${hostname}.crt`, privateKey: `${TLS_DIR}/${hostname}.key` })

/** prepare's own defaults for the pool lifetimes (2.7+), rendered when the options leave them out. */
const CONN_MAX_LIFETIME = '5m'
const CONN_MAX_IDLE_TIME = '0'

export function renderHarborYml(o: HarborNodeOptions): string {
  const keys = harborKeySet(o.version)
  if (!keys) throw new Error(`harbor.yml: no key set for Harbor ${o.version}`)
  const r = o.redis
  const view = {
    q: (v: string) => JSON.stringify(v),
    version: o.version,
    keys,
    // What the release's own template carries: prepare's migrate reads it.
    templateVersion: `2.${harborMinorOf(o.version)}.0`,
    hostname: o.hostname,
    httpPort: o.http.port,
    https: o.https ? { port: o.https.port, ...tlsPaths(o.hostname) } : null,
    externalUrl: o.externalUrl ?? null,
    adminPassword: reveal(o.adminPassword),
    dataVolume: o.dataVolume,
    trivy: o.trivy.enabled,
    maxJobWorkers: 10,
    logLevel: 'info',
    database: {
      ...o.database,
      password: reveal(o.database.password),
      connMaxLifetime: o.database.connMaxLifetime ?? CONN_MAX_LIFETIME,
      connMaxIdleTime: o.database.connMaxIdleTime ?? CONN_MAX_IDLE_TIME,
    },
    redis: {
      host: r.host,
      port: r.port,
      password: r.password === undefined ? null : reveal(r.password),
      registryDbIndex: r.registryDbIndex,
      jobserviceDbIndex: r.jobserviceDbIndex,
      trivyDbIndex: r.trivyDbIndex,
      chartmuseumDbIndex: r.chartmuseumDbIndex ?? null,
      harborDbIndex: r.harborDbIndex ?? null,
      cacheLayerDbIndex: r.cacheLayerDbIndex ?? null,
    },
  }
  return renderTemplate('harbor.yml.ejs', view, TEMPLATES).text
}
