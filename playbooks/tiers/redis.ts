// The backing services of a Harbor group on the storage node (group `redis`),
// through mysql-redis-compose, as field runbook seed 000 runs them: Redis, and
// with it (ha-shared-nfs) a database in the same compose project. No top-level
// side effects: the Harbor playbooks import it.
//
// Variables: `redis` (the role's Redis options: image, imageArchive, port,
// dataDir, persistence; group_vars/redis/main.yml) and `redis_password` (the
// vault); for the database, `backing_database_engine` ('postgres' or 'mysql'),
// `backing_database.<engine>` (the role's database options) and
// `backing_database_root_password` (the vault).
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import { dockerEngineTasks } from '../../roles/docker/engine.ts'
import { databaseOf, MYSQL_REDIS_COMPOSE_DEFAULTS } from '../../roles/mysql-redis-compose/options.ts'
import { mysqlRedisCompose, type DatabaseEngine, type DatabaseInput, type RedisInput } from '../../roles/mysql-redis-compose/index.ts'

export interface RedisEndpoint {
  name: string
  address: string
  port: number
}

const addressOf = (h: Pick<Host, 'name' | 'vars'>): string => (typeof h.vars.ansible_host === 'string' ? h.vars.ansible_host : h.name)

function redisOptions(h: Host): RedisInput {
  const redis = h.var<Partial<RedisInput>>('redis', {})
  return {
    ...redis,
    image: h.need<string>('redis.image', 'mysql-redis-compose'),
    password: h.need<string>('redis_password', 'mysql-redis-compose'),
    // Harbor reaches it on the host's address; the health check on 127.0.0.1.
    bind: redis.bind ?? [addressOf(h), '127.0.0.1'],
  }
}

/** Redis alone (the PostgreSQL-pair playbook: its database is the pair). */
export async function redisTier(pb: Playbook): Promise<RedisEndpoint[]> {
  await pb.play('Redis for Harbor', 'redis', (h) => mysqlRedisCompose({ redis: redisOptions(h) }))
  return redisEndpoints(pb)
}

/** The database beside Redis, as the inventory describes it. */
export interface BackingDatabase {
  /** The inventory host that runs it, and its address. */
  name: string
  address: string
  port: number
  engine: DatabaseEngine
  /** Who Harbor logs in as: the image's superuser, whose password is `passwordVar` on that host. */
  user: string
  passwordVar: string
}

const ENGINES: readonly DatabaseEngine[] = ['postgres', 'mysql']

function databaseOptions(h: Pick<Host, 'var' | 'need' | 'name'>): DatabaseInput {
  const engine = h.var<string>('backing_database_engine', 'postgres')
  if (!ENGINES.includes(engine as DatabaseEngine)) throw new ConfigError(`${h.name}: backing_database_engine must be postgres or mysql, got ${JSON.stringify(engine)}`)
  const options = h.var<Partial<DatabaseInput>>(`backing_database.${engine}`, {})
  return { ...options, engine: engine as DatabaseEngine, image: h.need<string>(`backing_database.${engine}.image`, 'mysql-redis-compose'), rootPassword: h.need<string>('backing_database_root_password', 'mysql-redis-compose') }
}

/** Redis and the database in one compose project (one role call: two would each write the project without the other's service). */
export async function backingTier(pb: Playbook): Promise<void> {
  await pb.play('Redis and the database for Harbor', 'redis', (h) => mysqlRedisCompose({ redis: redisOptions(h), database: databaseOptions(h) }))
}

/** Where the database beside Redis listens, from the inventory (nothing is run; the whole inventory, not --limit). */
export function backingDatabase(pb: Playbook): BackingDatabase {
  const [host, ...more] = pb.inventory.select('redis')
  if (!host || more.length > 0) throw new ConfigError(`group redis must hold exactly one host (the storage node that runs Redis and the database), it holds ${more.length + (host ? 1 : 0)}`)
  const h = pb.host(host.name)
  const d = databaseOf(databaseOptions(h))
  return { name: host.name, address: addressOf(host), port: d.port, engine: d.engine, user: d.engine === 'mysql' ? 'root' : 'postgres', passwordVar: 'backing_database_root_password' }
}

/** The Redis hosts' packages (the Docker engine the role starts with), for a playbook's packages play; empty for other hosts. */
export function redisPackages(pb: Playbook): (h: Host) => Task[] {
  const isRedis = new Set(pb.inventory.select('redis').map((h) => h.name))
  return (h) => (isRedis.has(h.name) ? dockerEngineTasks(MYSQL_REDIS_COMPOSE_DEFAULTS.docker) : [])
}

/** Where Redis listens, from the inventory (nothing is run). The whole inventory, not --limit: Harbor nodes need the address even when only they are played. */
export function redisEndpoints(pb: Playbook): RedisEndpoint[] {
  return pb.inventory.select('redis').map((h) => ({ name: h.name, address: addressOf(h), port: Number((h.vars.redis as Partial<RedisInput> | undefined)?.port ?? 6379) }))
}
