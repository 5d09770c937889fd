// Harbor on the hosts of group `harbor` (role harbor-node), pointing at the
// PostgreSQL primary and at Redis, all nodes sharing one data volume. Before
// any host is touched, the nodes' options are compared (secrets by hash): a
// difference stops the run naming the option and the hosts, unless forced
// with -e harbor_allow_disagreement=true. No top-level side effects.
//
// Variables: `harbor` (the role's options; group_vars/harbor/main.yml),
// `harbor_token_certificate`, and from the vault harbor_admin_password,
// harbor_csrf_key, harbor_core_secret, harbor_jobservice_secret,
// harbor_scanner_prefix, harbor_secret_key, harbor_token_private_key. The
// database password is the primary's pg_harbor_password (or the backend's own
// variable), Redis's password the redis host's redis_password.
import { readFileSync } from 'node:fs'
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import { ALLOW_DISAGREEMENT_VAR, harborHealthUrl, harborNode, harborNodePackages, requireAgreement, type HarborNodeOptions } from '../../roles/harbor-node/index.ts'
import type { RedisEndpoint } from './redis.ts'

export interface HarborBackends {
  /**
   * The database: the PostgreSQL primary, or the database beside Redis. Its host
   * holds the password in `passwordVar` (default pg_harbor_password); `user`,
   * `port` and `engine`, when given, are the backend's and win over harbor.database.
   */
  database: { name: string; address: string; port?: number; user?: string; engine?: 'postgres' | 'mysql'; passwordVar?: string }
  redis: RedisEndpoint[]
}

type HarborVars = Partial<Omit<HarborNodeOptions, 'database' | 'redis' | 'installer'>> & {
  database?: Partial<HarborNodeOptions['database']>
  redis?: Partial<HarborNodeOptions['redis']>
  installer?: { file?: string; sha256?: string }
}

/** The installer's sha256: given, or read from the `sha256sum` line published beside it (FILE.sha256). */
function installerSha256(file: string, given: string | undefined): string {
  if (given !== undefined) return given
  const beside = `${file}.sha256`
  let text: string
  try {
    text = readFileSync(beside, 'utf8')
  } catch {
    throw new ConfigError(`harbor.installer.sha256 is not set and ${beside} cannot be read`, { hint: `give harbor.installer.sha256 (sha256sum ${file})` })
  }
  const sha = /^([0-9a-f]{64})\b/.exec(text)?.[1]
  if (!sha) throw new ConfigError(`${beside} does not start with a sha256 (sha256sum's format)`)
  return sha
}

/**
 * Check the Harbor nodes' options (each node's, then all against each other)
 * and return the play, to be run after the backends: call it before any other
 * tier runs, so that a refusal touches no host.
 */
/** What a playbook decides over the inventory's `harbor` variable (the keepalived playbook: the name clients use). */
export interface HarborOverrides {
  hostname?: string
}

export interface HarborTier {
  packages: (h: Host) => Task[]
  play: () => Promise<void>
  /** A node's own health API (what a health check on the node asks); undefined for a host that is not a node. */
  healthUrl: (node: string) => string | undefined
}

export function harborTier(pb: Playbook, backends: HarborBackends, overrides: HarborOverrides = {}): HarborTier {
  const nodes = pb.hosts('harbor').map((h) => h.name)
  // None played (--limit postgres): nothing to check or run.
  if (nodes.length === 0) return { packages: () => [], play: async () => {}, healthUrl: () => undefined }
  const [redis] = backends.redis
  if (!redis) throw new ConfigError('Harbor needs a Redis: group redis is empty')
  const primary = pb.host(backends.database.name)
  const redisHost = pb.host(redis.name)

  const optionsOf = (h: Host): HarborNodeOptions => {
    const v = h.var<HarborVars>('harbor', {})
    const file = h.need<string>('harbor.installer.file', 'harbor-node')
    return {
      ...(v as HarborNodeOptions),
      ...(overrides.hostname !== undefined ? { hostname: overrides.hostname } : {}),
      adminPassword: h.need('harbor_admin_password', 'harbor-node'),
      database: {
        ...(v.database as HarborNodeOptions['database']),
        host: v.database?.host ?? backends.database.address,
        ...(backends.database.port !== undefined ? { port: backends.database.port } : {}),
        ...(backends.database.user !== undefined ? { user: backends.database.user } : {}),
        ...(backends.database.engine !== undefined ? { engine: backends.database.engine } : {}),
        password: primary.need(backends.database.passwordVar ?? 'pg_harbor_password', 'harbor-node'),
      },
      redis: { ...(v.redis as HarborNodeOptions['redis']), host: v.redis?.host ?? redis.address, port: v.redis?.port ?? redis.port, password: redisHost.need('redis_password', 'harbor-node') },
      secrets: {
        csrfKey: h.need('harbor_csrf_key', 'harbor-node'),
        coreSecret: h.need('harbor_core_secret', 'harbor-node'),
        jobserviceSecret: h.need('harbor_jobservice_secret', 'harbor-node'),
        scannerNamePrefix: h.need('harbor_scanner_prefix', 'harbor-node'),
        secretKey: h.need('harbor_secret_key', 'harbor-node'),
        tokenPrivateKey: h.need('harbor_token_private_key', 'harbor-node'),
        tokenCertificate: h.need<string>('harbor_token_certificate', 'harbor-node'),
      },
      installer: { file, sha256: installerSha256(file, v.installer?.sha256) },
      group: { node: h.name, nodes },
    }
  }

  // Every node of the group, played or not (--limit): they must agree with each other. Each node's options are built and checked once, here.
  const resolved = new Map(pb.inventory.select('harbor').map((i) => [i.name, harborNode.resolve(optionsOf(pb.host(i.name)))] as const))
  const forced = [...resolved.keys()].some((name) => {
    const allow = pb.host(name).var<unknown>(ALLOW_DISAGREEMENT_VAR, false)
    return allow === true || allow === 'true'
  })
  for (const line of requireAgreement([...resolved].map(([host, options]) => ({ host, options })), forced))
    pb.log(`WARNING: forced past a disagreement (-e ${ALLOW_DISAGREEMENT_VAR}=true): ${line}`)

  const optionsFor = (h: Host): HarborNodeOptions => {
    const o = resolved.get(h.name)
    if (!o) throw new ConfigError(`${h.name} is played as a Harbor node but is not in group harbor`)
    return o
  }
  const isNode = new Set(nodes)
  return {
    // For the playbook's packages play: the same tasks the role starts with, so that the role finds them done.
    packages: (h) => (isNode.has(h.name) ? harborNodePackages(optionsFor(h)) : []),
    play: async () => void (await pb.play('Harbor nodes', 'harbor', (h) => harborNode(optionsFor(h)))),
    healthUrl: (node) => {
      const o = resolved.get(node)
      return o && harborHealthUrl(o)
    },
  }
}
