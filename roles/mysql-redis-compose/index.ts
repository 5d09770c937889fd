// mysql-redis-compose: the backing services of a Harbor group as one compose
// project with host networking, as field runbook seed 000 runs them on its
// storage node. Built so far: Redis (password from the vault, never on a
// command line; bind addresses; persistence; a health check). The database
// half is refused by name until it is built (see options.ts).
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { copy, defineRole, file, guardOp, handler, renderTemplate, reveal, runOp, ShellCommand, sh, task, waitFor, waitOp, type Resource, type Task } from '../../src/index.ts'
import { composeCommand, dockerEngineTasks } from '../docker/engine.ts'
import { composeUp } from '../docker/compose.ts'
import { containerImage } from '../docker/image.ts'
import { checkComposeOptions, MYSQL_REDIS_COMPOSE_DEFAULTS, redisOf, type ComposeRedisOptions, type Fail, type MysqlRedisComposeOptions } from './options.ts'

export type { MysqlRedisComposeOptions, ComposeRedisOptions, ComposeDatabaseOptions, RedisInput } from './options.ts'

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))
const AUTH_FILE = 'redis-auth.conf'

/** Inside the Redis container: PONG from the server, the password read from its file (an environment variable of this one shell, never an argument). */
export function redisPing(r: ComposeRedisOptions): string {
  return `REDISCLI_AUTH="$(sed -n 's/^requirepass //p' /usr/local/etc/redis/auth.conf)" redis-cli -h 127.0.0.1 -p ${r.port} ping`
}

/** The project's files as they will be written; the spec label hashes what defines the Redis service (no secret in it). */
export function renderProject(redis: ComposeRedisOptions): { compose: string; redisConf: string; redisSpec: string } {
  const redisConf = renderTemplate('redis.conf.ejs', { redis }, TEMPLATES).text
  // compose's own health check is berth's probe, with `$` doubled as compose files need.
  const healthcheck = `${redisPing(redis).replaceAll('$', '$$$$')} | grep -qx PONG`
  const compose = (redisSpec: string): string => renderTemplate('docker-compose.yml.ejs', { redis, redisSpec, healthcheck }, TEMPLATES).text
  const redisSpec = createHash('sha256').update(compose('')).update('\0').update(redisConf).digest('hex').slice(0, 16)
  return { compose: compose(redisSpec), redisConf, redisSpec }
}

export const mysqlRedisCompose = defineRole<MysqlRedisComposeOptions, typeof MYSQL_REDIS_COMPOSE_DEFAULTS>({
  name: 'mysql-redis-compose',
  defaults: MYSQL_REDIS_COMPOSE_DEFAULTS,
  required: [],
  validate: (o, fail) => checkComposeOptions(o, fail as unknown as Fail),
  tasks: (o): Task[] => {
    const r = redisOf(o.redis as NonNullable<typeof o.redis>)
    const project = { dir: o.projectDir, name: o.projectName }
    const files = renderProject(r)
    const compose = (args: string[]): ShellCommand => composeCommand(o.projectDir, o.projectName, args)
    // docker exec on the container compose labelled, not `compose exec`: docker-compose 1.x costs a Python start-up each run.
    const redisContainer = sh`docker ps -q --filter ${`label=com.docker.compose.project=${o.projectName}`} --filter label=com.docker.compose.service=redis`.text
    const ping = new ShellCommand(`c=$(${redisContainer} | head -n1) && [ -n "$c" ] && docker exec "$c" sh -c ${sh`${redisPing(r)}`.text} | grep -qx PONG`)
    const auth = `${o.projectDir}/${AUTH_FILE}`
    // A new password reaches a running Redis only through a restart; a Redis started after the file was written (a first run) already has it.
    const restartForPassword = handler(
      `restart Redis (${o.projectName}) for its new password`,
      task({
        title: 'restart Redis if it started before its password file was written',
        facts: () => [],
        plan: () => ({
          changed: true,
          summary: 'restart only if Redis started before its password file changed',
          operations: [
            guardOp(
              sh`[ "$(stat -c %Y ${auth})" -ge "$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$(${compose(['ps', '-q', 'redis'])})")" +%s)" ]`,
              'Redis started before its password file was written',
              [runOp(compose(['restart', 'redis'])), waitOp(ping, 'Redis answers PONG with the new password', { timeoutMs: 60_000 })],
            ),
          ],
        }),
      } satisfies Resource),
    )
    return [
      ...dockerEngineTasks(o.docker),
      file({ path: o.projectDir, state: 'directory', mode: '0750' }).named('compose project directory'),
      file({ path: r.dataDir, state: 'directory', owner: String(r.uid), mode: '0700' }).named('Redis data directory'),
      copy({ path: `${o.projectDir}/redis.conf`, content: files.redisConf, mode: '0644' }).named('redis.conf'),
      copy({ path: auth, content: `requirepass ${reveal(r.password)}\n`, owner: String(r.uid), mode: '0600', sensitive: true }).named('Redis password file (0600)').notify(restartForPassword),
      containerImage({ name: r.image, archive: r.imageArchive }),
      copy({ path: `${o.projectDir}/docker-compose.yml`, content: files.compose, mode: '0644' }).named('docker-compose.yml'),
      composeUp(project, { redis: files.redisSpec }),
      waitFor({ command: ping }, { timeoutMs: 60_000 }).named('Redis answers PONG (redis-cli, password from its file)'),
    ]
  },
})
