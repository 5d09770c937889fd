// Redis for a Harbor group on the storage node (group `redis`), through
// mysql-redis-compose, as field runbook seed 000 runs it. No top-level side
// effects: the Harbor playbooks import it.
//
// Variables: `redis` (the role's Redis options: image, imageArchive, port,
// dataDir, persistence; group_vars/redis/main.yml) and `redis_password` (the vault).
import type { Host, Playbook, Task } from '../../src/index.ts'
import { dockerEngineTasks } from '../../roles/docker/engine.ts'
import { MYSQL_REDIS_COMPOSE_DEFAULTS } from '../../roles/mysql-redis-compose/options.ts'
import { mysqlRedisCompose, type RedisInput } from '../../roles/mysql-redis-compose/index.ts'

export interface RedisEndpoint {
  name: string
  address: string
  port: number
}

const addressOf = (h: Pick<Host, 'name' | 'vars'>): string => (typeof h.vars.ansible_host === 'string' ? h.vars.ansible_host : h.name)

export async function redisTier(pb: Playbook): Promise<RedisEndpoint[]> {
  await pb.play('Redis for Harbor', 'redis', (h) => {
    const redis = h.var<Partial<RedisInput>>('redis', {})
    return mysqlRedisCompose({
      redis: {
        ...redis,
        image: h.need<string>('redis.image', 'mysql-redis-compose'),
        password: h.need<string>('redis_password', 'mysql-redis-compose'),
        // Harbor reaches it on the host's address; the health check on 127.0.0.1.
        bind: redis.bind ?? [addressOf(h), '127.0.0.1'],
      },
    })
  })
  return redisEndpoints(pb)
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
