// The nodes of one Harbor must agree: the same release, database, Redis,
// storage and pinned secrets, or the group fails in ways that show only later
// (CSRF errors behind a balancer, robot logins failing on one node, jobs
// queued by one node refused by another; ../shared/docs/harbor.md). A pure
// comparison of every node's options; secrets are compared by hash and a
// difference names the option and the hosts, never a value.
import { createHash } from 'node:crypto'
import { ConfigError, reveal, type Secret } from '../../src/index.ts'
import type { HarborNodeOptions } from './options.ts'

export interface NodeOptions {
  host: string
  options: HarborNodeOptions
}

/** One option the nodes disagree on: the hosts grouped by the value they have (shown only when it is not secret). */
export interface Disagreement {
  option: string
  secret: boolean
  groups: { hosts: string[]; shown?: string }[]
}

type Compared = [option: string, value: (o: HarborNodeOptions) => unknown, secret: boolean]

const SECRET_FIELDS = ['csrfKey', 'coreSecret', 'jobserviceSecret', 'scannerNamePrefix', 'secretKey', 'tokenPrivateKey'] as const

const COMPARED: readonly Compared[] = [
  ['version', (o) => o.version, false],
  ['hostname', (o) => o.hostname, false],
  ['externalUrl', (o) => o.externalUrl, false],
  ['dataVolume', (o) => o.dataVolume, false],
  ['storage', (o) => o.storage, false],
  ['database', (o) => ({ ...o.database, password: undefined }), false],
  ['database.password', (o) => o.database.password, true],
  ['redis', (o) => ({ ...o.redis, password: undefined }), false],
  ['redis.password', (o) => o.redis.password, true],
  ['adminPassword', (o) => o.adminPassword, true],
  ...SECRET_FIELDS.map((k): Compared => [`secrets.${k}`, (o) => o.secrets[k], true]),
  ['secrets.tokenCertificate', (o) => o.secrets.tokenCertificate, false],
  ['installer.sha256', (o) => o.installer.sha256, false],
  ['trivy', (o) => o.trivy, false],
]

/** A stable key for a value: JSON with sorted keys, secrets revealed only into a hash. */
function keyOf(value: unknown, secret: boolean): string {
  if (secret) return value === undefined ? 'unset' : createHash('sha256').update(reveal(value as string | Secret)).digest('hex')
  return JSON.stringify(value, (_, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v)) ?? 'unset'
}

/** What the nodes disagree on, in a fixed order; empty when they agree (or there is one node). */
export function disagreements(nodes: readonly NodeOptions[]): Disagreement[] {
  const out: Disagreement[] = []
  for (const [option, value, secret] of COMPARED) {
    const groups = new Map<string, { hosts: string[]; shown?: string }>()
    for (const n of nodes) {
      const v = value(n.options)
      const key = keyOf(v, secret)
      const group = groups.get(key) ?? { hosts: [], ...(secret ? {} : { shown: v === undefined ? 'unset' : typeof v === 'string' ? v : keyOf(v, false) }) }
      group.hosts.push(n.host)
      groups.set(key, group)
    }
    if (groups.size > 1) out.push({ option, secret, groups: [...groups.values()] })
  }
  return out
}

/** One line per disagreement, for the preflight's error. */
export function describeDisagreements(found: readonly Disagreement[]): string[] {
  return found.map((d) =>
    d.secret
      ? `${d.option} differs (values not shown): ${d.groups.map((g) => g.hosts.join(', ')).join(' | ')}`
      : `${d.option} differs: ${d.groups.map((g) => `${g.hosts.join(', ')}: ${g.shown}`).join(' | ')}`,
  )
}

/** The variable that forces a run past a disagreement (for a rolling change of a secret, or to show what a mismatch does). */
export const ALLOW_DISAGREEMENT_VAR = 'harbor_allow_disagreement'

/**
 * Stop before any host is touched when the nodes of one Harbor disagree,
 * unless forced: then the differences are returned for the playbook to print.
 */
export function requireAgreement(nodes: readonly NodeOptions[], force: boolean): string[] {
  const lines = describeDisagreements(disagreements(nodes))
  if (lines.length === 0 || force) return lines
  throw new ConfigError(`the nodes of one Harbor disagree:\n  ${lines.join('\n  ')}`, {
    hint: `give every node the same values (group_vars/, not host_vars/); to go on all the same, -e ${ALLOW_DISAGREEMENT_VAR}=true`,
  })
}
