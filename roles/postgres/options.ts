// The options both PostgreSQL roles share, their defaults and their checks.
// Checks run when the play is built, before any host is touched.
import { existsSync, statSync } from 'node:fs'
import { Secret, reveal } from '../../src/index.ts'
import { hbaAddress } from './hba.ts'
import { SUPPORTED_VERSIONS } from './layout.ts'
import { checkSettingName, type SettingValue } from './settings.ts'

/** Where the server packages come from. */
export type PackageSource =
  | { from: 'distribution' }
  | {
      /** PostgreSQL's own apt repository, for versions the distribution lacks. */
      from: 'pgdg'
      uri: string
      /** The repository's signing key, ASCII-armored. */
      key: string
      /** The suite for the host's release: bookworm-pgdg on Debian 12. */
      suite: string
    }

export interface PostgresOptions {
  /** Major version: 13 as the field runbook; the lab's Debian 12 ships 15. */
  version: number
  packages: PackageSource
  cluster: string
  /** Any absolute path (the runbook puts it on a shared disk). */
  dataDir: string
  /** Where archive_command copies WAL segments. */
  archiveDir: string
  listenAddresses: string[]
  port: number
  maxConnections: number
  maxWalSenders: number
  maxReplicationSlots: number
  /** Upper bound on the WAL a slot may hold back for an absent standby. */
  maxSlotWalKeepSize: string
  locale: string
  replicationUser: string
  replicationPassword: string | Secret
  /** Addresses or CIDR ranges allowed to replicate (pg_hba.conf): every PostgreSQL host, so either can become the primary. */
  replicationFrom: string[]
  /** Harbor's database owner. */
  harborUser: string
  /** Addresses or ranges Harbor connects from. */
  harborClients: string[]
  /** Picks the databases: `notarysigner` and `notaryserver` only up to Harbor 2.8. */
  harborVersion: string
  /** Default: from harborVersion. */
  databases: string[] | undefined
  /** More postgresql.conf settings; the ones the options above own are refused here. */
  settings: Record<string, SettingValue>
}

export const POSTGRES_DEFAULTS = {
  version: 13,
  packages: { from: 'distribution' } as PackageSource,
  cluster: 'main',
  listenAddresses: ['*'],
  port: 5432,
  maxConnections: 100,
  maxWalSenders: 10,
  maxReplicationSlots: 10,
  maxSlotWalKeepSize: '4GB',
  locale: 'C.UTF-8',
  replicationUser: 'replica',
  harborUser: 'harbor',
  harborVersion: '2.11',
  databases: undefined,
  settings: {},
} satisfies Partial<PostgresOptions>

/** Settings that options own: given in `settings` they would be ambiguous. */
export const OPTION_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: 'listenAddresses',
  port: 'port',
  max_connections: 'maxConnections',
  max_wal_senders: 'maxWalSenders',
  max_replication_slots: 'maxReplicationSlots',
  max_slot_wal_keep_size: 'maxSlotWalKeepSize',
  archive_command: 'archiveDir',
  data_directory: 'dataDir',
  primary_conninfo: 'primaryHost',
  primary_slot_name: 'slotName',
}

/** Settings the roles fix for replication and rewinds to work: not options at all. */
export const ROLE_SETTINGS: readonly string[] = ['wal_level', 'archive_mode', 'wal_log_hints', 'password_encryption', 'hot_standby', 'recovery_target_timeline']

export type Fail = (option: string, problem: string, hint?: string) => never

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/
const PATH_CHARS = /^\/[A-Za-z0-9._/@+-]*$/

export function checkPath(option: string, path: unknown, fail: Fail): string {
  if (typeof path !== 'string' || !path.startsWith('/')) return fail(option, `must be an absolute path, got ${JSON.stringify(path)}`)
  if (!PATH_CHARS.test(path)) return fail(option, `(${path}) may hold only letters, digits and . _ / @ + - (postgresql-common and archive_command take it unquoted)`)
  if (path === '/' || path.endsWith('/') || path.split('/').some((p) => p === '..' || p === '.')) return fail(option, `(${path}) must be a plain path: no trailing slash, no . or .. parts, not /`)
  return path
}

export const databasesFor = (harborVersion: string): string[] => (harborMinor(harborVersion) <= 208 ? ['registry', 'notarysigner', 'notaryserver'] : ['registry'])

function harborMinor(v: string): number {
  const m = /^(\d+)\.(\d+)/.exec(v)
  return m ? Number(m[1]) * 100 + Number(m[2]) : NaN
}

export function checkPassword(option: string, value: unknown, fail: Fail): void {
  if (!(value instanceof Secret) && typeof value !== 'string') fail(option, 'is missing or not a string', 'keep it in a vault file: ansible-vault encrypt_string')
  const text = reveal(value as string | Secret)
  if (text.length < 8) fail(option, 'must be at least 8 characters long')
  // SASLprep of other characters depends on Unicode 3.2 tables PostgreSQL and libpq carry; printable ASCII hashes the same everywhere.
  if (!/^[\x20-\x7E]+$/.test(text)) fail(option, 'must be printable ASCII (letters, digits, punctuation, spaces)', 'generate one with: openssl rand -base64 24')
}

export function checkPostgresOptions(o: PostgresOptions, fail: Fail, more: { ownedSettings?: readonly string[] } = {}): void {
  if (!Number.isInteger(o.version) || !SUPPORTED_VERSIONS.includes(o.version))
    fail('version', `must be one of ${SUPPORTED_VERSIONS.join(', ')}, got ${JSON.stringify(o.version)}`, 'Harbor 2.9 and later need PostgreSQL 12 or newer')
  if (!o.packages || (o.packages.from !== 'distribution' && o.packages.from !== 'pgdg')) fail('packages', "must be { from: 'distribution' } or { from: 'pgdg', uri, key, suite }")
  if (o.packages.from === 'pgdg') {
    if (typeof o.packages.uri !== 'string' || !/^https?:\/\/\S+$/.test(o.packages.uri)) fail('packages', 'needs uri: the repository URL')
    if (typeof o.packages.key !== 'string' || !o.packages.key.includes('BEGIN PGP PUBLIC KEY BLOCK')) fail('packages', "needs key: the repository's ASCII-armored signing key")
    if (typeof o.packages.suite !== 'string' || !/^[a-z0-9.-]+$/.test(o.packages.suite)) fail('packages', 'needs suite: e.g. bookworm-pgdg')
  }
  if (typeof o.cluster !== 'string' || !/^[a-z0-9_-]{1,32}$/.test(o.cluster)) fail('cluster', `must be a cluster name (lower case, digits, _ and -), got ${JSON.stringify(o.cluster)}`)
  const data = checkPath('dataDir', o.dataDir, fail)
  const archive = checkPath('archiveDir', o.archiveDir, fail)
  if (archive === data || archive.startsWith(data + '/') || data.startsWith(archive + '/')) fail('archiveDir', `(${archive}) must be outside dataDir (${data}) and not contain it`)
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) fail('port', `must be a TCP port, got ${JSON.stringify(o.port)}`)
  for (const [name, min] of [['maxConnections', 1], ['maxWalSenders', 1], ['maxReplicationSlots', 1]] as const)
    if (!Number.isInteger(o[name]) || o[name] < min) fail(name, `must be a whole number of at least ${min}, got ${JSON.stringify(o[name])}`)
  if (typeof o.maxSlotWalKeepSize !== 'string' || !/^(-1|\d+(kB|MB|GB|TB))$/.test(o.maxSlotWalKeepSize)) fail('maxSlotWalKeepSize', `must be a size such as '4GB' (or '-1' for no limit), got ${JSON.stringify(o.maxSlotWalKeepSize)}`)
  if (typeof o.locale !== 'string' || !/^[A-Za-z0-9_.@-]+$/.test(o.locale)) fail('locale', `must be a locale name such as C.UTF-8, got ${JSON.stringify(o.locale)}`)
  if (!Array.isArray(o.listenAddresses) || o.listenAddresses.length === 0 || o.listenAddresses.some((a) => typeof a !== 'string' || !/^[A-Za-z0-9.:*_-]+$/.test(a)))
    fail('listenAddresses', `must be a list of addresses or host names ('*' for all), got ${JSON.stringify(o.listenAddresses)}`)
  for (const name of ['replicationUser', 'harborUser'] as const)
    if (typeof o[name] !== 'string' || !ROLE_NAME.test(o[name]) || o[name] === 'postgres') fail(name, `must be a role name (lower case, digits, _; not postgres), got ${JSON.stringify(o[name])}`)
  if (o.replicationUser === o.harborUser) fail('harborUser', 'must differ from replicationUser')
  checkPassword('replicationPassword', o.replicationPassword, fail)
  for (const name of ['replicationFrom', 'harborClients'] as const) {
    if (!Array.isArray(o[name])) fail(name, `must be a list of addresses or CIDR ranges, got ${JSON.stringify(o[name])}`)
    for (const a of o[name]) {
      try {
        hbaAddress(String(a))
      } catch (e) {
        fail(name, `has ${(e as Error).message}`)
      }
    }
  }
  if (typeof o.harborVersion !== 'string' || Number.isNaN(harborMinor(o.harborVersion))) fail('harborVersion', `must be a version such as '2.11', got ${JSON.stringify(o.harborVersion)}`)
  if (o.databases !== undefined) {
    if (!Array.isArray(o.databases) || o.databases.length === 0 || o.databases.some((d) => typeof d !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(d)))
      fail('databases', `must be a list of database names, got ${JSON.stringify(o.databases)}`)
    const notary = o.databases.filter((d) => d.startsWith('notary'))
    if (notary.length > 0 && harborMinor(o.harborVersion) > 208)
      fail('databases', `lists ${notary.join(', ')}, but Harbor ${o.harborVersion} has no Notary (removed in 2.9)`, "leave databases out to get ['registry']")
  }
  if (o.settings === null || typeof o.settings !== 'object' || Array.isArray(o.settings)) fail('settings', 'must be an object of postgresql.conf names and values')
  const owned = new Set([...Object.keys(OPTION_SETTINGS), ...ROLE_SETTINGS, ...(more.ownedSettings ?? [])])
  for (const [k, v] of Object.entries(o.settings)) {
    if (!checkSettingName(k)) fail('settings', `has '${k}', which is not a postgresql.conf setting name`)
    if (owned.has(k)) fail('settings', `sets ${k}, which ${OPTION_SETTINGS[k] ? `option '${OPTION_SETTINGS[k]}'` : 'the role'} owns`, OPTION_SETTINGS[k] ? `set ${OPTION_SETTINGS[k]} instead` : undefined)
    if (!['string', 'number', 'boolean'].includes(typeof v)) fail('settings', `${k} must be a string, number or boolean`)
    if (typeof v === 'string' && /[\n\r\0]/.test(v)) fail('settings', `${k} holds a line break or NUL, which postgresql.conf cannot hold`)
    if (typeof v === 'number' && !Number.isFinite(v)) fail('settings', `${k} must be a finite number`)
  }
}

/** A dump file option: readable on the controller when the play is built. */
export function checkDumpFile(option: string, file: unknown, fail: Fail): string {
  if (typeof file !== 'string' || file === '') return fail(option, 'needs a file path')
  if (!existsSync(file) || !statSync(file).isFile()) return fail(option, `(${file}) is not a file on this machine`, 'dumps are read from the machine that runs the playbook')
  return file
}
