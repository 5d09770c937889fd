// mysql-redis-compose's options: the backing services of a Harbor group run as
// one compose project with host networking, as field runbook seed 000 runs
// MySQL and Redis on its storage node: Redis, and a database (MySQL as the seed
// runs it, or PostgreSQL, which Harbor 1.6 and later need), with a dump
// imported once.
import { reveal, Secret } from '../../src/index.ts'
import { DOCKER_ENGINE_DEFAULTS, type DockerEngineOptions } from '../docker/engine.ts'

type SecretText = string | Secret

export interface ComposeRedisOptions {
  /** repository:tag: `redis:7` from your registry (the seed ran `redis:3`). */
  image: string
  /** A `docker save` archive of `image` on the controller, loaded where no registry is reachable. */
  imageArchive?: string
  /** requirepass, from the vault. Never on a command line: Redis reads it from a 0600 file it includes. */
  password: SecretText
  /** Addresses Redis listens on (host networking): this host's address for Harbor, 127.0.0.1 for the health check. */
  bind: string[]
  port: number
  /** On the host, mounted at /data. */
  dataDir: string
  /** 'aof': append-only file (fsync every second) plus snapshots; 'rdb': snapshots only; 'none': nothing survives a restart. */
  persistence: 'aof' | 'rdb' | 'none'
  /** The uid Redis runs as inside the image (the official image's `redis` user is 999): it owns the data and reads the password file. */
  uid: number
}

export type DatabaseEngine = 'mysql' | 'postgres'

export interface ComposeDatabaseOptions {
  /** 'mysql' as seed 000 runs it (Harbor 1.5 and older only); 'postgres' for Harbor 1.6 and later. */
  engine: DatabaseEngine
  /** repository:tag: `mysql:5.7` in the seed, `postgres:15` say, from your registry. */
  image: string
  /** A `docker save` archive of `image` on the controller, loaded where no registry is reachable. */
  imageArchive?: string
  /** On the host, the server's data directory (the seed: /mysql57/data), mounted at the image's own. */
  dataDir: string
  /** The server listens here (host networking). */
  port: number
  /**
   * The superuser's password (root, or postgres), from the vault. It reaches the
   * container through an env file of mode 0600, never a command line; the image
   * reads it only when it initialises an empty data directory.
   */
  rootPassword: SecretText
  /** MySQL: `--character-set-server` (the seed: utf8). */
  characterSet?: string
  /** PostgreSQL: databases created when missing, owned by postgres (Harbor's `registry`). */
  databases: string[]
  /**
   * A dump on the controller, imported once into `database` when that database
   * does not exist yet (MySQL: `mysqldump --databases registry`; PostgreSQL:
   * pg_dump's plain or custom format, into a database with no tables yet).
   */
  restore?: { database: string; file: string }
}

/** What a playbook gives for the database: the engine, image and password, and any default it changes. */
export type DatabaseInput = Pick<ComposeDatabaseOptions, 'engine' | 'image' | 'rootPassword'> & Partial<Omit<ComposeDatabaseOptions, 'engine' | 'image' | 'rootPassword'>>

/** What a playbook gives for Redis: the image and the password, and any default it changes. */
export type RedisInput = Pick<ComposeRedisOptions, 'image' | 'password'> & Partial<Omit<ComposeRedisOptions, 'image' | 'password'>>

export interface MysqlRedisComposeOptions {
  /** Where the compose project's files live on the host. */
  projectDir: string
  /** compose's project name (container names and labels). */
  projectName: string
  docker: DockerEngineOptions
  redis?: RedisInput
  database?: DatabaseInput
}

export const REDIS_DEFAULTS: Omit<ComposeRedisOptions, 'image' | 'password'> = {
  bind: ['127.0.0.1'],
  port: 6379,
  dataDir: '/data/redis',
  persistence: 'aof',
  uid: 999,
}

export const DATABASE_DEFAULTS: Record<DatabaseEngine, Omit<ComposeDatabaseOptions, 'engine' | 'image' | 'rootPassword'>> = {
  mysql: { dataDir: '/data/mysql', port: 3306, characterSet: 'utf8', databases: [] },
  postgres: { dataDir: '/data/postgresql', port: 5432, databases: ['registry'] },
}

export const MYSQL_REDIS_COMPOSE_DEFAULTS = {
  projectDir: '/opt/harbor-backing',
  projectName: 'harbor-backing',
  docker: DOCKER_ENGINE_DEFAULTS,
}

export type Fail = (option: string, problem: string, hint?: string) => never

const IMAGE = /^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$/
const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+|\*)$/

/** Redis's options with their defaults; `-e redis.port=6380` gives text, taken as the number it spells. */
export function redisOf(input: RedisInput): ComposeRedisOptions {
  const merged = { ...REDIS_DEFAULTS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as ComposeRedisOptions
  for (const k of ['port', 'uid'] as const) if (typeof merged[k] === 'string' && /^\d+$/.test(merged[k] as unknown as string)) merged[k] = Number(merged[k])
  return merged
}

/** The database's options with its engine's defaults; `-e database.port=3307` gives text, taken as the number it spells. */
export function databaseOf(input: DatabaseInput): ComposeDatabaseOptions {
  const defaults = DATABASE_DEFAULTS[input.engine] ?? DATABASE_DEFAULTS.postgres
  const merged = { ...defaults, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as ComposeDatabaseOptions
  if (typeof merged.port === 'string' && /^\d+$/.test(merged.port)) merged.port = Number(merged.port)
  return merged
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

function checkDatabase(input: DatabaseInput, fail: Fail): void {
  if (input === null || typeof input !== 'object') fail('database', 'must be { engine, image, rootPassword, … }')
  if (input.engine !== 'mysql' && input.engine !== 'postgres') fail('database', `engine must be 'mysql' or 'postgres', got ${JSON.stringify(input.engine)}`)
  const d = databaseOf(input)
  if (typeof d.image !== 'string' || !IMAGE.test(d.image)) fail('database', `image must be an image reference such as ${d.engine === 'mysql' ? 'mysql:5.7' : 'postgres:15'}, got ${JSON.stringify(d.image)}`)
  if (d.imageArchive !== undefined && (typeof d.imageArchive !== 'string' || !d.imageArchive.startsWith('/'))) fail('database', `imageArchive must be an absolute path on this machine, got ${JSON.stringify(d.imageArchive)}`)
  if (typeof d.rootPassword !== 'string' && !(d.rootPassword instanceof Secret)) fail('database', 'rootPassword is missing', 'keep it in a vault file')
  const pw = reveal(d.rootPassword)
  if (pw.length < 16) fail('database', `rootPassword must be at least 16 characters (it has ${pw.length})`, 'openssl rand -hex 24')
  // An env file line holds it as is: no quoting, no interpolation, nothing a shell or compose would read otherwise.
  if (/[^\x21-\x7e]/.test(pw) || /["'\\$#`]/.test(pw)) fail('database', 'rootPassword must be printable ASCII without spaces, quotes, backslashes, $, # or backquotes (an env file holds it as is)', 'openssl rand -hex 24')
  if (typeof d.dataDir !== 'string' || !/^\/[^\s:]+$/.test(d.dataDir) || d.dataDir === '/') fail('database', `dataDir must be an absolute path (not /), got ${JSON.stringify(d.dataDir)}`)
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) fail('database', `port must be from 1 to 65535, got ${JSON.stringify(d.port)}`)
  if (d.characterSet !== undefined && (d.engine !== 'mysql' || !/^[a-z0-9_]+$/.test(d.characterSet)))
    fail('database', d.engine === 'mysql' ? `characterSet must be a character set name such as utf8, got ${JSON.stringify(d.characterSet)}` : 'characterSet is a MySQL option (PostgreSQL takes the encoding at initdb)')
  if (!Array.isArray(d.databases) || d.databases.some((n) => typeof n !== 'string' || !NAME.test(n))) fail('database', `databases must be a list of database names, got ${JSON.stringify(d.databases)}`)
  if (d.engine === 'mysql' && d.databases.length > 0) fail('database', 'databases is for PostgreSQL: with MySQL the seed\'s dump makes its database (restore)')
  if (d.restore !== undefined) {
    if (typeof d.restore !== 'object' || typeof d.restore.database !== 'string' || !NAME.test(d.restore.database)) fail('database', `restore.database must be a database name, got ${JSON.stringify(d.restore?.database)}`)
    if (typeof d.restore.file !== 'string' || !d.restore.file.startsWith('/')) fail('database', `restore.file must be an absolute path on this machine, got ${JSON.stringify(d.restore.file)}`)
  }
}

export function checkComposeOptions(o: MysqlRedisComposeOptions, fail: Fail): void {
  if (typeof o.projectDir !== 'string' || !/^\/[^\s]+$/.test(o.projectDir) || o.projectDir === '/') fail('projectDir', `must be an absolute path (not /), got ${JSON.stringify(o.projectDir)}`)
  if (typeof o.projectName !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(o.projectName)) fail('projectName', `must be lower-case letters, digits, _ or -, got ${JSON.stringify(o.projectName)}`)
  if (!o.docker || !['auto', 'distribution', 'docker-ce'].includes(o.docker.source)) fail('docker', `source must be 'auto', 'distribution' or 'docker-ce', got ${JSON.stringify(o.docker?.source)}`)
  if (o.database !== undefined) checkDatabase(o.database, fail)
  if (o.redis === undefined && o.database === undefined) fail('redis', 'is missing, and so is database: the role runs Redis, a database, or both; give at least one')
  if (o.redis !== undefined) checkRedis(o.redis, fail)
}

function checkRedis(input: RedisInput, fail: Fail): void {
  if (input === null || typeof input !== 'object') fail('redis', 'must be { image, password, … }')
  const r = redisOf(input)
  if (typeof r.image !== 'string' || !IMAGE.test(r.image)) fail('redis', `image must be an image reference such as redis:7, got ${JSON.stringify(r.image)}`)
  if (r.imageArchive !== undefined && (typeof r.imageArchive !== 'string' || !r.imageArchive.startsWith('/'))) fail('redis', `imageArchive must be an absolute path on this machine, got ${JSON.stringify(r.imageArchive)}`)
  if (typeof r.password !== 'string' && !(r.password instanceof Secret)) fail('redis', 'password is missing', 'keep it in a vault file')
  const pw = reveal(r.password)
  if (pw.length < 16) fail('redis', `password must be at least 16 characters (it has ${pw.length}): Redis answers thousands of guesses a second`, 'openssl rand -base64 24')
  if (/[\s"'\\]/.test(pw) || /[^\x21-\x7e]/.test(pw)) fail('redis', 'password must be printable ASCII without spaces, quotes or backslashes (Redis config and URL syntax)', 'openssl rand -hex 24')
  if (!Array.isArray(r.bind) || r.bind.length === 0 || r.bind.some((a) => typeof a !== 'string' || !ADDRESS.test(a))) fail('redis', `bind must be a list of addresses, got ${JSON.stringify(r.bind)}`)
  if (!r.bind.includes('127.0.0.1') && !r.bind.includes('*') && !r.bind.includes('0.0.0.0'))
    fail('redis', `bind must include 127.0.0.1 (the health check connects there), got ${JSON.stringify(r.bind)}`)
  if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) fail('redis', `port must be from 1 to 65535, got ${JSON.stringify(r.port)}`)
  if (typeof r.dataDir !== 'string' || !/^\/[^\s:]+$/.test(r.dataDir) || r.dataDir === '/') fail('redis', `dataDir must be an absolute path (not /), got ${JSON.stringify(r.dataDir)}`)
  if (!['aof', 'rdb', 'none'].includes(r.persistence)) fail('redis', `persistence must be 'aof', 'rdb' or 'none', got ${JSON.stringify(r.persistence)}`)
  if (!Number.isInteger(r.uid) || r.uid < 0) fail('redis', `uid must be a numeric user id, got ${JSON.stringify(r.uid)}`)
}
