// mysql-redis-compose: the backing services of a Harbor group as one compose
// project with host networking, as field runbook seed 000 runs them on its
// storage node: Redis (password from the vault, never on a command line; bind
// addresses; persistence; a health check) and a database, MySQL as the seed
// runs it or PostgreSQL, with a dump imported once (database.ts).
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { copy, defineRole, file, guardOp, handler, renderTemplate, reveal, runOp, ShellCommand, sh, task, waitFor, waitOp, type Resource, type Task } from '../../src/index.ts'
import { composeCommand, dockerEngineTasks } from '../docker/engine.ts'
import { composeUp } from '../docker/compose.ts'
import { containerImage } from '../docker/image.ts'
import { DATA_MOUNT, DATABASE_ENV_FILE, databaseCommand, databaseEnv, databasePing, databaseService, databasesPresent, execIn, mysqlImport, passwordMatches, postgresRestore } from './database.ts'
import { checkComposeOptions, databaseOf, MYSQL_REDIS_COMPOSE_DEFAULTS, redisOf, type ComposeDatabaseOptions, type ComposeRedisOptions, type Fail, type MysqlRedisComposeOptions } from './options.ts'

export type { MysqlRedisComposeOptions, ComposeRedisOptions, ComposeDatabaseOptions, RedisInput, DatabaseInput, DatabaseEngine } from './options.ts'

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))
const AUTH_FILE = 'redis-auth.conf'

/** Inside the Redis container: PONG from the server, the password read from its file (an environment variable of this one shell, never an argument). */
export function redisPing(r: ComposeRedisOptions): string {
  return `REDISCLI_AUTH="$(sed -n 's/^requirepass //p' /usr/local/etc/redis/auth.conf)" redis-cli -h 127.0.0.1 -p ${r.port} ping`
}

/** compose's own health checks are berth's probes, with `$` doubled as compose files need. */
const composeShell = (script: string): string => script.replaceAll('$', '$$$$')

const hashOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16)

export interface ProjectFiles {
  compose: string
  redisConf?: string
  /** service name -> the hash of what defines it (its part of the compose file and the files it mounts; no secret). */
  specs: Record<string, string>
}

/** The project's files as they will be written, and each service's spec label. */
export function renderProject(services: { redis?: ComposeRedisOptions | undefined; database?: ComposeDatabaseOptions | undefined }): ProjectFiles {
  const { redis, database: d } = services
  const redisConf = redis ? renderTemplate('redis.conf.ejs', { redis }, TEMPLATES).text : undefined
  const database = d && {
    service: databaseService(d.engine),
    image: d.image,
    command: databaseCommand(d),
    envFile: DATABASE_ENV_FILE,
    dataDir: d.dataDir,
    mount: DATA_MOUNT[d.engine],
    healthcheck: composeShell(databasePing(d)),
  }
  const render = (vars: { redis?: ComposeRedisOptions | undefined; redisSpec?: string; database?: typeof database; databaseSpec?: string }): string =>
    renderTemplate('docker-compose.yml.ejs', { redis: undefined, database: undefined, ...vars, healthcheck: redis ? `${composeShell(redisPing(redis))} | grep -qx PONG` : '' }, TEMPLATES).text
  // Each service's spec hashes the file as it would be with that service alone, so one service's change recreates only it.
  const specs: Record<string, string> = {}
  if (redis) specs.redis = hashOf(render({ redis, redisSpec: '' }), redisConf ?? '')
  if (database) specs[database.service] = hashOf(render({ database, databaseSpec: '' }))
  const compose = render({ redis, redisSpec: specs.redis ?? '', database, databaseSpec: database ? specs[database.service] : '' })
  return { compose, ...(redisConf !== undefined ? { redisConf } : {}), specs }
}

export const mysqlRedisCompose = defineRole<MysqlRedisComposeOptions, typeof MYSQL_REDIS_COMPOSE_DEFAULTS>({
  name: 'mysql-redis-compose',
  defaults: MYSQL_REDIS_COMPOSE_DEFAULTS,
  required: [],
  validate: (o, fail) => checkComposeOptions(o, fail as unknown as Fail),
  tasks: (o): Task[] => {
    const r = o.redis ? redisOf(o.redis) : undefined
    const d = o.database ? databaseOf(o.database) : undefined
    const project = { dir: o.projectDir, name: o.projectName }
    const files = renderProject({ redis: r, database: d })
    return [
      ...dockerEngineTasks(o.docker),
      file({ path: o.projectDir, state: 'directory', mode: '0750' }).named('compose project directory'),
      ...(r ? redisFiles(o, r, files) : []),
      ...(d ? databaseFiles(o, d) : []),
      copy({ path: `${o.projectDir}/docker-compose.yml`, content: files.compose, mode: '0644' }).named('docker-compose.yml'),
      composeUp(project, files.specs),
      ...(r ? redisReady(o, r) : []),
      ...(d ? databaseReady(o, d) : []),
    ]
  },
})

/** Redis's data directory, config, password file and image. */
function redisFiles(o: MysqlRedisComposeOptions, r: ComposeRedisOptions, files: ProjectFiles): Task[] {
  const compose = (args: string[]): ShellCommand => composeCommand(o.projectDir, o.projectName, args)
  const ping = redisPingCommand(o, r)
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
      file({ path: r.dataDir, state: 'directory', owner: String(r.uid), mode: '0700' }).named('Redis data directory'),
      copy({ path: `${o.projectDir}/redis.conf`, content: files.redisConf ?? '', mode: '0644' }).named('redis.conf'),
      copy({ path: auth, content: `requirepass ${reveal(r.password)}\n`, owner: String(r.uid), mode: '0600', sensitive: true }).named('Redis password file (0600)').notify(restartForPassword),
    containerImage({ name: r.image, archive: r.imageArchive }),
  ]
}

/**
 * A command that exits 0 when Redis answers PONG with its password (read from its file inside the container).
 * docker exec on the container compose labelled, not `compose exec`: docker-compose 1.x costs a Python start-up each run.
 */
function redisPingCommand(o: MysqlRedisComposeOptions, r: ComposeRedisOptions): ShellCommand {
  return new ShellCommand(`${execIn({ dir: o.projectDir, name: o.projectName }, 'redis', redisPing(r)).text} | grep -qx PONG`)
}

function redisReady(o: MysqlRedisComposeOptions, r: ComposeRedisOptions): Task[] {
  return [waitFor({ command: redisPingCommand(o, r) }, { timeoutMs: 60_000 }).named('Redis answers PONG (redis-cli, password from its file)')]
}

/** The database's data directory, its 0600 env file and image. */
function databaseFiles(o: MysqlRedisComposeOptions, d: ComposeDatabaseOptions): Task[] {
  return [
    // Its owner and mode are the image's to set (the entrypoint chowns it to the server's user).
    file({ path: d.dataDir, state: 'directory' }).named(`${d.engine} data directory`),
    copy({ path: `${o.projectDir}/${DATABASE_ENV_FILE}`, content: databaseEnv(d), mode: '0600', sensitive: true }).named(`${d.engine} password env file (0600)`),
    containerImage({ name: d.image, archive: d.imageArchive }),
  ]
}

/** The server answers, its password is the vault's, its databases exist, the dump is in. */
function databaseReady(o: MysqlRedisComposeOptions, d: ComposeDatabaseOptions): Task[] {
  const project = { dir: o.projectDir, name: o.projectName }
  const service = databaseService(d.engine)
  const tasks: Task[] = [
    // A first start initialises the data directory (initdb, mysql_install_db) before it answers.
    waitFor({ command: execIn(project, service, databasePing(d)) }, { timeoutMs: 180_000 }).named(`${d.engine} answers (${d.engine === 'mysql' ? 'mysqladmin ping' : 'pg_isready'})`),
    passwordMatches(d, project),
  ]
  if (d.engine === 'postgres' && d.databases.length > 0) tasks.push(databasesPresent(d, project))
  if (d.restore) tasks.push(d.engine === 'mysql' ? mysqlImport(d, project, d.restore) : postgresRestore(d, project, d.restore))
  return tasks
}
