// mysql-redis-compose's options: the backing services of a Harbor group run as
// one compose project with host networking, as field runbook seed 000 runs
// MySQL and Redis on its storage node. This issue builds the Redis half; the
// database half (MySQL as the seed runs it, PostgreSQL for Harbor 1.6 and
// later, a dump imported once) has its option shape here and is refused by
// name until it is built.
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

/** The database half (next issue): its shape, fixed now so playbooks are written once. */
export interface ComposeDatabaseOptions {
  engine: 'mysql' | 'postgres'
  image: string
  imageArchive?: string
  dataDir: string
  port: number
  rootPassword: SecretText
  /** MySQL: `--character-set-server` (the seed: utf8). */
  characterSet?: string
  /** A dump on the controller, imported once into a database that does not exist yet. */
  restore?: { database: string; file: string }
}

/** What a playbook gives for Redis: the image and the password, and any default it changes. */
export type RedisInput = Pick<ComposeRedisOptions, 'image' | 'password'> & Partial<Omit<ComposeRedisOptions, 'image' | 'password'>>

export interface MysqlRedisComposeOptions {
  /** Where the compose project's files live on the host. */
  projectDir: string
  /** compose's project name (container names and labels). */
  projectName: string
  docker: DockerEngineOptions
  redis?: RedisInput
  database?: ComposeDatabaseOptions
}

export const REDIS_DEFAULTS: Omit<ComposeRedisOptions, 'image' | 'password'> = {
  bind: ['127.0.0.1'],
  port: 6379,
  dataDir: '/data/redis',
  persistence: 'aof',
  uid: 999,
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

export function checkComposeOptions(o: MysqlRedisComposeOptions, fail: Fail): void {
  if (typeof o.projectDir !== 'string' || !/^\/[^\s]+$/.test(o.projectDir) || o.projectDir === '/') fail('projectDir', `must be an absolute path (not /), got ${JSON.stringify(o.projectDir)}`)
  if (typeof o.projectName !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(o.projectName)) fail('projectName', `must be lower-case letters, digits, _ or -, got ${JSON.stringify(o.projectName)}`)
  if (!o.docker || !['auto', 'distribution', 'docker-ce'].includes(o.docker.source)) fail('docker', `source must be 'auto', 'distribution' or 'docker-ce', got ${JSON.stringify(o.docker?.source)}`)
  if (o.database !== undefined)
    fail('database', 'the database half of mysql-redis-compose (MySQL as seed 000 runs it, PostgreSQL, a dump imported once) is not built yet', 'run the database with pg13-primary (playbooks/tiers/database.ts) until it is')
  if (o.redis === undefined || o.redis === null || typeof o.redis !== 'object') fail('redis', 'is missing: the role runs Redis (and, later, the database); give at least one')
  const r = redisOf(o.redis)
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
