// harbor-node's options: the exported types a playbook fills in, and the
// checks that fail, naming the option, before any host is touched.
// Facts behind the rules are in ../shared/docs/harbor.md.
import { Secret, reveal } from '../../src/index.ts'
import { SUPPORTED_HARBOR_VERSIONS, harborKeySet } from './versions.ts'
import { DOCKER_ENGINE_DEFAULTS, type DockerEngineOptions } from '../docker/engine.ts'

type SecretText = string | Secret

export interface HarborDatabase {
  /**
   * What the server is: Harbor 1.6 and later store their data only in
   * PostgreSQL, so 'mysql' (seed 000's database, Harbor 1.5 and older) is
   * refused by name. Default 'postgres'.
   */
  engine?: 'postgres' | 'mysql'
  host: string
  port: number
  /** Harbor's database (`registry` in the field runbook). */
  name: string
  user: string
  password: SecretText
  sslMode: 'disable' | 'require' | 'verify-ca' | 'verify-full'
  maxIdleConns: number
  maxOpenConns: number
  /** 2.7 and later: a Go duration ('5m'). */
  connMaxLifetime?: string
  /** 2.7 and later: a Go duration ('0' keeps idle connections). */
  connMaxIdleTime?: string
}

export interface HarborRedis {
  host: string
  port: number
  password?: SecretText
  /** The database indexes, as harbor.yml's external_redis names them. */
  registryDbIndex: number
  jobserviceDbIndex: number
  trivyDbIndex: number
  /** Up to 2.7 (ChartMuseum). */
  chartmuseumDbIndex?: number
  /** 2.9 and later, optional. */
  harborDbIndex?: number
  cacheLayerDbIndex?: number
}

/**
 * What the data volume lives on: an NFS export the role mounts (NFSv4; `options`
 * replaces the mount options, default NFS_MOUNT_OPTIONS), or a path the platform
 * already mounted (a shared disk, the lab's bound directory).
 */
export type HarborStorage = { kind: 'nfs'; server: string; export: string; options?: string } | { kind: 'mounted' }

/**
 * nfs(5): hard (soft can corrupt data silently), TCP with its 60 s timeout and 2
 * retransmissions, no atime writes; _netdev waits for the network at boot and
 * nofail lets the boot go on without it: Docker does not, as its unit requires
 * the mount (RequiresMountsFor), so no container starts on an empty mount point.
 */
export const NFS_MOUNT_OPTIONS = 'rw,hard,proto=tcp,timeo=600,retrans=2,noatime,_netdev,nofail'

/**
 * The secrets every node of one Harbor must share (prepare makes new random
 * ones on every run; harbor-node writes these over them). All from the vault.
 */
export interface HarborSecrets {
  /** CSRF_KEY: exactly 32 characters. */
  csrfKey: SecretText
  /** CORE_SECRET: 16 characters, as prepare makes it. */
  coreSecret: SecretText
  /** JOBSERVICE_SECRET: 16 characters. */
  jobserviceSecret: SecretText
  /** ROBOT_SCANNER_NAME_PREFIX: 8 lower-case letters or digits. */
  scannerNamePrefix: SecretText
  /** data_volume/secret/keys/secretkey: the AES key of secrets stored in the database, 16 characters. */
  secretKey: SecretText
  /** The token key pair: core signs registry bearer tokens with the key, the registry checks them with the certificate (PEM). */
  tokenPrivateKey: SecretText
  tokenCertificate: string
}

export interface HarborNodeOptions {
  /** A supported release ('2.11' or '2.11.1'). */
  version: string
  /** What clients use to reach this Harbor (the virtual address's name behind keepalived). Not 127.0.0.1, not reg.mydomain.com (prepare refuses both). */
  hostname: string
  /** Set behind a TLS-terminating balancer: 'https://registry.example.org'. */
  externalUrl?: string
  http: { port: number }
  https?: { port: number; certificate: SecretText; privateKey: SecretText }
  adminPassword: SecretText
  database: HarborDatabase
  redis: HarborRedis
  /** data_volume: on one line in harbor.yml (install.sh greps for it). */
  dataVolume: string
  storage: HarborStorage
  secrets: HarborSecrets
  /** The offline installer on the controller, and its sha256. */
  installer: { file: string; sha256: string }
  trivy: { enabled: boolean }
  /** Where each release is unpacked: <installRoot>/v<version>. */
  installRoot: string
  /** Where the Docker engine comes from (roles/docker). */
  docker: DockerEngineOptions
  /**
   * This node and every node of its Harbor (the play's hosts): each writes a
   * marker on the data volume and must see every other's, or the run stops.
   * Left out for a single node.
   */
  group?: { node: string; nodes: string[] }
}

export const HARBOR_NODE_DEFAULTS = {
  http: { port: 80 },
  dataVolume: '/data',
  storage: { kind: 'mounted' } as HarborStorage,
  trivy: { enabled: false },
  installRoot: '/opt/harbor',
  docker: DOCKER_ENGINE_DEFAULTS,
}

export type Fail = (option: string, problem: string, hint?: string) => never

const isText = (v: unknown): v is SecretText => typeof v === 'string' || v instanceof Secret
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536
const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 15

/** Every check of the options; `fail` throws, naming the option. Values of secrets never appear in a message. */
export function checkHarborOptions(o: HarborNodeOptions, fail: Fail): void {
  const keys = harborKeySet(String(o.version))
  if (!keys)
    fail('version', `${JSON.stringify(o.version)} is not a Harbor release berth supports: ${SUPPORTED_HARBOR_VERSIONS[0]} to ${SUPPORTED_HARBOR_VERSIONS.at(-1)}`, 'give the release of your offline installer, as "2.11" or "2.11.1"')

  if (typeof o.hostname !== 'string' || !/^[A-Za-z0-9.-]+$/.test(o.hostname)) fail('hostname', `must be a host name or address, got ${JSON.stringify(o.hostname)}`)
  if (o.hostname === '127.0.0.1' || o.hostname === 'localhost' || o.hostname === 'reg.mydomain.com')
    fail('hostname', `cannot be ${o.hostname}: clients and the other nodes must reach Harbor by it (prepare refuses it too)`)
  if (o.externalUrl !== undefined && !/^https?:\/\/[^\s/]+(?::\d+)?\/?$/.test(o.externalUrl)) fail('externalUrl', `must be http(s)://host[:port], got ${JSON.stringify(o.externalUrl)}`)
  if (!o.http || !isPort(o.http.port)) fail('http', `must be { port } with a port from 1 to 65535, got ${JSON.stringify(o.http)}`)
  if (o.https !== undefined) {
    if (!isPort(o.https.port)) fail('https', `port must be from 1 to 65535, got ${JSON.stringify(o.https.port)}`)
    if (!isText(o.https.certificate) || !reveal(o.https.certificate).includes('BEGIN CERTIFICATE')) fail('https', 'certificate must be a PEM certificate')
    if (!isText(o.https.privateKey) || !/BEGIN [A-Z ]*PRIVATE KEY/.test(reveal(o.https.privateKey))) fail('https', 'privateKey must be a PEM private key', 'keep it in a vault file')
  }
  secretOfLength('adminPassword', o.adminPassword, { min: 8 }, fail)

  const d = o.database
  if (!d || typeof d !== 'object') fail('database', 'must be { host, port, name, user, password, sslMode, maxIdleConns, maxOpenConns }')
  if (d.engine === 'mysql')
    fail('database', `is MySQL: Harbor 1.6 and later store their data only in PostgreSQL, and this is Harbor ${o.version} (harbor.cfg on MySQL was Harbor 1.5 and older, out of support upstream since 2019)`, 'run the database with engine postgres; a MySQL dump of an old Harbor is for its own migration path, not for Harbor 2.x to read')
  if (d.engine !== undefined && d.engine !== 'postgres') fail('database', `engine must be 'postgres' (or 'mysql', which is refused), got ${JSON.stringify(d.engine)}`)
  if (typeof d.host !== 'string' || d.host === '') fail('database', 'needs host: the PostgreSQL primary')
  if (!isPort(d.port)) fail('database', `port must be from 1 to 65535, got ${JSON.stringify(d.port)}`)
  for (const k of ['name', 'user'] as const) if (typeof d[k] !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(d[k])) fail('database', `${k} must be a lower-case PostgreSQL name, got ${JSON.stringify(d[k])}`)
  secretOfLength('database.password', d.password, { min: 8 }, fail)
  if (!['disable', 'require', 'verify-ca', 'verify-full'].includes(d.sslMode)) fail('database', `sslMode must be disable, require, verify-ca or verify-full, got ${JSON.stringify(d.sslMode)}`)
  for (const k of ['maxIdleConns', 'maxOpenConns'] as const) if (!Number.isInteger(d[k]) || d[k] < 0) fail('database', `${k} must be a whole number, got ${JSON.stringify(d[k])}`)
  // prepare reads the pool values with `or default`: a 0 there becomes 2 without a word.
  if (d.maxIdleConns === 0) fail('database', 'maxIdleConns cannot be 0: prepare replaces 0 by its default (2)', 'give 1 or more')
  for (const k of ['connMaxLifetime', 'connMaxIdleTime'] as const) {
    if (d[k] === undefined) continue
    if (!keys.connLifetimes) fail('database', `${k} needs Harbor 2.7 or later (this is ${o.version})`)
    if (!/^(0|(\d+(\.\d+)?(ns|us|ms|s|m|h))+)$/.test(String(d[k]))) fail('database', `${k} must be a Go duration such as '5m', got ${JSON.stringify(d[k])}`)
  }

  const r = o.redis
  if (!r || typeof r !== 'object' || typeof r.host !== 'string' || r.host === '') fail('redis', 'needs host')
  if (!isPort(r.port)) fail('redis', `port must be from 1 to 65535, got ${JSON.stringify(r.port)}`)
  if (r.password !== undefined) {
    secretOfLength('redis.password', r.password, { min: 8 }, fail)
    // Before 2.7 prepare puts the password into Redis URLs unquoted: '@', '/', ':' and the like break them.
    if (keys.minor < 7 && !/^[A-Za-z0-9._~-]+$/.test(reveal(r.password)))
      fail('redis.password', `Harbor ${o.version} writes it into a URL unquoted: use only letters, digits and . _ ~ -`, 'generate one with: openssl rand -hex 16')
  }
  const indexes: [string, number | undefined][] = [
    ['registryDbIndex', r.registryDbIndex],
    ['jobserviceDbIndex', r.jobserviceDbIndex],
    ['trivyDbIndex', r.trivyDbIndex],
    ['chartmuseumDbIndex', r.chartmuseumDbIndex],
    ['harborDbIndex', r.harborDbIndex],
    ['cacheLayerDbIndex', r.cacheLayerDbIndex],
  ]
  for (const [k, v] of indexes.slice(0, 3)) if (!isIndex(v)) fail('redis', `${k} must be a database index from 0 to 15, got ${JSON.stringify(v)}`)
  if (r.chartmuseumDbIndex !== undefined && !keys.chartmuseum) fail('redis', `chartmuseumDbIndex: Harbor ${o.version} has no ChartMuseum (removed in 2.8)`)
  for (const k of ['harborDbIndex', 'cacheLayerDbIndex'] as const) if (r[k] !== undefined && !keys.jobLoggers) fail('redis', `${k} needs Harbor 2.9 or later (this is ${o.version})`)
  const used = indexes.filter(([, v]) => v !== undefined) as [string, number][]
  for (const [k, v] of used) {
    if (!isIndex(v)) fail('redis', `${k} must be a database index from 0 to 15, got ${JSON.stringify(v)}`)
    // Core keeps its login sessions in db 0.
    if (v === 0) fail('redis', `${k} cannot be 0: Harbor's core keeps its sessions there`)
    const other = used.find(([k2, v2]) => k2 !== k && v2 === v)
    if (other) fail('redis', `${k} and ${other[0]} are both ${v}: each needs its own database`)
  }

  if (typeof o.dataVolume !== 'string' || !/^\/[^\s#:]*$/.test(o.dataVolume) || o.dataVolume === '/') fail('dataVolume', `must be an absolute path (not /), got ${JSON.stringify(o.dataVolume)}`)
  const s = o.storage
  if (!s || (s.kind !== 'nfs' && s.kind !== 'mounted')) fail('storage', `must be { kind: 'nfs', server, export } or { kind: 'mounted' }, got ${JSON.stringify(s)}`)
  if (s.kind === 'nfs') {
    if (typeof s.server !== 'string' || !/^[A-Za-z0-9.:-]+$/.test(s.server)) fail('storage', `server must be a host name or address, got ${JSON.stringify(s.server)}`)
    if (typeof s.export !== 'string' || !/^\/[^\s#]*$/.test(s.export)) fail('storage', `export must be the exported path (absolute, no spaces), got ${JSON.stringify(s.export)}`)
    if (s.options !== undefined) {
      if (typeof s.options !== 'string' || !/^[A-Za-z0-9_=.,-]+$/.test(s.options)) fail('storage', `options must be comma-separated mount options, got ${JSON.stringify(s.options)}`)
      const opts = s.options.split(',')
      if (opts.includes('soft')) fail('storage', "options say soft: a soft mount returns errors mid-write when the server is slow, and the registry's files can be left half-written", 'use hard (the default)')
      if (opts.some((x) => /^(nfs)?vers=[23]/.test(x))) fail('storage', 'options ask for NFSv2/3: berth mounts NFSv4 (nfs4), which locks in-protocol')
    }
  }

  const k = o.secrets
  if (!k || typeof k !== 'object') fail('secrets', 'must hold csrfKey, coreSecret, jobserviceSecret, scannerNamePrefix, secretKey, tokenPrivateKey, tokenCertificate (from the vault)')
  secretOfLength('secrets.csrfKey', k.csrfKey, { exactly: 32 }, fail)
  secretOfLength('secrets.coreSecret', k.coreSecret, { exactly: 16 }, fail)
  secretOfLength('secrets.jobserviceSecret', k.jobserviceSecret, { exactly: 16 }, fail)
  secretOfLength('secrets.secretKey', k.secretKey, { exactly: 16 }, fail)
  secretOfLength('secrets.scannerNamePrefix', k.scannerNamePrefix, { exactly: 8 }, fail)
  if (!/^[a-z0-9]{8}$/.test(reveal(k.scannerNamePrefix))) fail('secrets.scannerNamePrefix', 'must be lower-case letters and digits')
  if (!isText(k.tokenPrivateKey) || !/BEGIN [A-Z ]*PRIVATE KEY/.test(reveal(k.tokenPrivateKey))) fail('secrets.tokenPrivateKey', 'must be a PEM private key', 'openssl genrsa 4096, kept in a vault file')
  if (typeof k.tokenCertificate !== 'string' || !k.tokenCertificate.includes('BEGIN CERTIFICATE')) fail('secrets.tokenCertificate', 'must be the PEM certificate of tokenPrivateKey')

  if (!o.installer || typeof o.installer.file !== 'string' || !o.installer.file.endsWith('.tgz')) fail('installer', `file must be the offline installer (.tgz) on this machine, got ${JSON.stringify(o.installer?.file)}`)
  if (typeof o.installer.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.installer.sha256)) fail('installer', 'sha256 must be the installer\'s sha256 (64 hex digits)', `sha256sum ${o.installer.file}`)
  if (!o.trivy || typeof o.trivy.enabled !== 'boolean') fail('trivy', 'must be { enabled: true | false }')
  if (typeof o.installRoot !== 'string' || !/^\/[^\s]*[^/\s]$/.test(o.installRoot)) fail('installRoot', `must be an absolute directory, got ${JSON.stringify(o.installRoot)}`)
  if (o.group !== undefined) {
    const g = o.group
    if (!g || typeof g.node !== 'string' || !Array.isArray(g.nodes) || g.nodes.some((n) => typeof n !== 'string' || !/^[A-Za-z0-9._-]+$/.test(n)))
      fail('group', 'must be { node, nodes }: this node\'s name and the names of every node of the group')
    if (!g.nodes.includes(g.node)) fail('group', `nodes (${g.nodes.join(', ')}) must include this node, ${g.node}`)
  }
}

/** A secret of the right length; the message gives lengths, never the value. */
function secretOfLength(option: string, value: unknown, length: { min?: number; exactly?: number }, fail: Fail): void {
  if (!isText(value)) fail(option, 'is missing or not a string', 'keep it in a vault file: ansible-vault encrypt_string')
  const n = reveal(value).length
  if (length.exactly !== undefined && n !== length.exactly)
    fail(option, `must be exactly ${length.exactly} characters (it has ${n})`, `generate one with: openssl rand -hex ${length.exactly / 2}`)
  if (length.min !== undefined && n < length.min) fail(option, `must be at least ${length.min} characters (it has ${n})`, 'generate one with: openssl rand -base64 24')
}
