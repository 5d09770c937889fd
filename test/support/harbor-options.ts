// Lab-like harbor-node options that pass every check, for tests to change one thing in.
import { HARBOR_NODE_DEFAULTS, type HarborNodeOptions } from '../../roles/harbor-node/options.ts'
import { secret } from '../../src/secrets.ts'

export const CSRF = 'c'.repeat(32)
export const goodHarborOptions = (): HarborNodeOptions => ({
  ...HARBOR_NODE_DEFAULTS,
  version: '2.11',
  hostname: 'harbor.lab.example',
  adminPassword: secret('Harbor-admin-pw-1'),
  database: { host: '10.77.0.11', port: 5432, name: 'registry', user: 'harbor', password: 'db-password-1', sslMode: 'disable', maxIdleConns: 100, maxOpenConns: 900, connMaxLifetime: '5m', connMaxIdleTime: '0' },
  redis: { host: '10.77.0.10', port: 6379, password: 'redis-password-1', registryDbIndex: 1, jobserviceDbIndex: 2, trivyDbIndex: 5, harborDbIndex: 6, cacheLayerDbIndex: 7 },
  secrets: {
    csrfKey: secret(CSRF),
    coreSecret: 'core-secret-0016',
    jobserviceSecret: 'jobs-secret-0016',
    scannerNamePrefix: 'abcd1234',
    secretKey: 'aes-key-16-chars',
    tokenPrivateKey: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n',
    tokenCertificate: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
  },
  installer: { file: '/srv/harbor-offline-installer-v2.11.1.tgz', sha256: 'a'.repeat(64) },
})


/** The lab's options as a release of each key set takes them: what the golden harbor.yml files are rendered from. */
export function goldenHarborOptions(version: string): HarborNodeOptions {
  const o = goodHarborOptions()
  o.version = version
  o.http = { port: 80 }
  const minor = Number(version.split('.')[1])
  if (minor < 9) {
    delete o.redis.harborDbIndex
    delete o.redis.cacheLayerDbIndex
  }
  if (minor < 7) {
    delete o.database.connMaxLifetime
    delete o.database.connMaxIdleTime
  }
  return o
}
