// From harbor.yml to a running node: prepare only when harbor.yml (or the
// release) changed since it last ran, the group's pinned secrets written over
// the random ones prepare makes on every run, `compose up -d` (never
// `down -v`) when the generated files changed or a service is not running, and
// a bounded wait for /api/v2.0/health's body to say healthy (it answers 200
// either way).
import { createHash } from 'node:crypto'
import { BerthError, fact, fileContentFact, quote, reveal, runOp, ShellCommand, sh, task, waitFor, writeOp, type FactValues, type Plan, type Resource, type Task } from '../../src/index.ts'
import { parse } from 'yaml'
import { composeCommand } from '../docker/engine.ts'
import type { HarborNodeOptions, HarborSecrets } from './options.ts'
import { harborKeySet } from './versions.ts'
import { stampFact } from './stamp.ts'

/** harbor-node runs every release as one compose project, so an upgrade replaces the old one's containers. */
export const HARBOR_PROJECT = 'harbor'
export const PREPARED_STAMP = '.berth-prepared'
export const STARTED_STAMP = '.berth-started'

/** What prepare is run for: harbor.yml's content and the prepare flags. */
export const preparedFor = (harborYml: string, trivy: boolean): string => `${createHash('sha256').update(harborYml).digest('hex')}${trivy ? ' with-trivy' : ''}`

/**
 * Pure: prepare when harbor.yml changed since it last ran, or when the files it
 * generated changed since Harbor was last started from them (a prepare or an
 * edit by hand): they are made again from harbor.yml, never kept as found.
 */
export function planPrepare(dir: string, wanted: string, prepared: string, generated: { now: string; started: string }, trivy: boolean): Plan {
  const edited = generated.started !== '' && generated.now !== generated.started
  if (prepared === wanted && !edited) return { changed: false, summary: 'harbor.yml unchanged since prepare last ran' }
  return {
    changed: true,
    summary: prepared === '' ? 'prepare (first run)' : prepared !== wanted ? 'harbor.yml changed since prepare last ran: prepare again' : 'the files prepare generated were changed since Harbor started: prepare again',
    operations: [runOp(sh`cd ${dir} && ./prepare ${trivy ? ['--with-trivy'] : []}`), writeOp(`${dir}/${PREPARED_STAMP}`, `${wanted}\n`, { mode: '0644' })],
  }
}

export function prepare(dir: string, harborYml: string, trivy: boolean): Task {
  const probe = stampFact(`${dir}/${PREPARED_STAMP}`)
  const project = projectStateFact(dir)
  const wanted = preparedFor(harborYml, trivy)
  const res: Resource = {
    title: `prepare (${dir})`,
    facts: () => [probe, project],
    plan: (f: FactValues) => {
      const p = f.get(project)
      return planPrepare(dir, wanted, f.get(probe), { now: p.configHash, started: p.stamp }, trivy)
    },
  }
  return task(res)
}

/** Which generated env file holds which pinned secret, per release (read from each release's prepare/templates/*\/env.jinja). */
export function pinnedEnv(o: HarborNodeOptions): { file: string; values: Record<string, string> }[] {
  const s: HarborSecrets = o.secrets
  const shared = { CORE_SECRET: reveal(s.coreSecret), JOBSERVICE_SECRET: reveal(s.jobserviceSecret) }
  const scanner: Record<string, string> = (harborKeySet(o.version)?.minor ?? 0) >= 8 ? { ROBOT_SCANNER_NAME_PREFIX: reveal(s.scannerNamePrefix) } : {}
  // 2.3-2.7's chartserver/env also carries CORE_SECRET, but only with --with-chartmuseum, which harbor-node never passes.
  return [
    { file: 'common/config/core/env', values: { ...shared, CSRF_KEY: reveal(s.csrfKey), ...scanner } },
    { file: 'common/config/jobservice/env', values: shared },
    { file: 'common/config/registryctl/env', values: shared },
  ]
}

/** Pure: each KEY=… line set to the pinned value (added when missing); other lines as they are. */
export function pinEnvValues(before: string, values: Readonly<Record<string, string>>): string {
  const lines = before.split('\n')
  const last = lines.at(-1) === '' ? lines.pop() : undefined
  for (const [key, value] of Object.entries(values)) {
    const i = lines.findIndex((l) => l.startsWith(`${key}=`))
    if (i >= 0) lines[i] = `${key}=${value}`
    else lines.push(`${key}=${value}`)
  }
  return lines.join('\n') + (last === undefined ? '' : '\n')
}

/**
 * Set KEY=value lines in an env file on the host, in place, as pinEnvValues
 * does: the pinned lines come on standard input (they are secrets), every other
 * line is kept as the host has it. An edit, not a write of the whole file: the
 * file holds what prepare generated on that host (its own random values), so a
 * runbook replayed on another host must edit its file, not write this one's.
 */
export const pinEnvCommand = (path: string): ShellCommand =>
  sh`f=${path}; tmp=$(mktemp "$f.berth.XXXXXX") && awk -F= ${'NR == FNR { if ($0 != "") { pin[$1] = $0; order[++n] = $1 }; next } ($1 in pin) { if (!($1 in done)) print pin[$1]; done[$1] = 1; next } { print } END { for (i = 1; i <= n; i++) if (!(order[i] in done)) print pin[order[i]] }'} - "$f" > "$tmp" && chmod --reference="$f" "$tmp" && chown --reference="$f" "$tmp" && mv -f "$tmp" "$f"`

export function pinSecrets(dir: string, o: HarborNodeOptions): Task[] {
  return pinnedEnv(o).map(({ file, values }) => {
    const path = `${dir}/${file}`
    const probe = fileContentFact(path)
    const res: Resource = {
      title: `pin ${Object.keys(values).join(', ')} in ${file}`,
      facts: () => [probe],
      plan: (f: FactValues): Plan => {
        const state = f.get(probe)
        if (!state.exists || state.content === undefined)
          throw new BerthError(`${path} is missing: prepare writes it`, { hint: `run ${dir}/prepare, or remove ${dir}/${PREPARED_STAMP} so that berth runs it` })
        const before = state.content.toString('utf8')
        const after = pinEnvValues(before, values)
        if (after === before) return { changed: false, summary: `${Object.keys(values).length} values pinned` }
        const differ = Object.keys(values).filter((k) => !before.split('\n').includes(`${k}=${values[k]}`))
        const pinned = Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('')
        return {
          changed: true,
          summary: `pin ${differ.join(', ')}`,
          diff: { path, before, after },
          operations: [runOp(pinEnvCommand(path), { stdin: pinned, sensitive: true })],
        }
      },
    }
    return task(res)
  })
}

export interface ProjectState {
  /** The services docker-compose.yml defines; undefined when it cannot be read. */
  services: string[] | undefined
  running: Map<string, boolean>
  /** The hash of the generated files as they are now. */
  configHash: string
  stamp: string
  unknown?: string
}

/** The services a compose file defines (its `services:` keys); undefined when it is not a compose file. */
export function composeServices(text: string): string[] | undefined {
  try {
    const doc = parse(text) as { services?: Record<string, unknown> } | null
    return doc && typeof doc.services === 'object' && doc.services !== null ? Object.keys(doc.services) : undefined
  } catch {
    return undefined
  }
}

export function parseProjectState(stdout: string): ProjectState {
  const section = (name: string): string[] => {
    const m = new RegExp(`^#${name}\\n([\\s\\S]*?)(?=^#[a-z]+\\n|(?![\\s\\S]))`, 'm').exec(stdout)
    return (m?.[1] ?? '').split('\n')
  }
  const lines = (name: string): string[] => section(name).filter((l) => l.trim() !== '')
  const running = new Map<string, boolean>()
  for (const line of lines('containers')) {
    const [service = '', status = ''] = line.split('\t')
    running.set(service, (running.get(service) ?? true) && status.startsWith('Up'))
  }
  const composeText = section('compose').join('\n')
  const services = composeText.trim() === '#missing' ? undefined : composeServices(composeText)
  return {
    services,
    running,
    configHash: lines('config')[0]?.split(' ')[0] ?? '',
    stamp: lines('stamp')[0] ?? '',
    ...(services === undefined ? { unknown: composeText.trim() === '#missing' ? 'docker-compose.yml is missing' : 'docker-compose.yml defines no services' } : {}),
  }
}

/**
 * The hash of every file prepare generated, as it is now: a new one means the
 * containers must be made anew. Computed on the host, also for the stamp (the
 * files hold values prepare made on that host).
 */
const CONFIG_HASH = `{ find common/config -type f | LC_ALL=C sort | xargs -r sha256sum; sha256sum docker-compose.yml; } 2>/dev/null | sha256sum`

export function projectStateFact(dir: string) {
  return fact(
    `harbor-project:${dir}`,
    new ShellCommand(
      [
        // Read here, parsed on the controller: cheaper than asking compose (a Python start-up with docker-compose 1.x).
        `echo '#compose'`,
        `cat ${quote(`${dir}/docker-compose.yml`)} 2>/dev/null | grep -v '^#' || echo '#missing'`,
        `echo '#containers'`,
        `docker ps -a --filter label=com.docker.compose.project=${HARBOR_PROJECT} --format '{{.Label "com.docker.compose.service"}}\t{{.Status}}' 2>/dev/null`,
        `echo '#config'`,
        `cd ${quote(dir)} 2>/dev/null && ${CONFIG_HASH}`,
        `echo '#stamp'`,
        `cat ${quote(`${dir}/${STARTED_STAMP}`)} 2>/dev/null || true`,
      ].join('\n'),
    ),
    (o) => parseProjectState(o.stdout),
    { slow: true },
  )
}

/** Pure: recreate when the generated files changed since the last start; start what is not running. */
export function planUp(dir: string, s: ProjectState): Plan {
  if (s.services === undefined) throw new BerthError(`cannot read ${dir}/docker-compose.yml: ${s.unknown ?? 'compose failed'}`, { hint: 'prepare writes it; is the Docker engine (and compose) installed?' })
  const stopped = s.services.filter((svc) => s.running.get(svc) !== true)
  const renewed = s.stamp !== s.configHash
  if (!renewed && stopped.length === 0) return { changed: false, summary: `${s.services.length} services running on the files prepare wrote` }
  const up = composeCommand(dir, HARBOR_PROJECT, renewed ? ['up', '-d', '--force-recreate', '--remove-orphans'] : ['up', '-d', '--remove-orphans'])
  return {
    changed: true,
    summary: renewed ? (s.stamp ? 'configuration changed: recreate the containers' : 'start Harbor') : `start ${stopped.join(', ')}`,
    // The stamp records the files Harbor started from, hashed on the host (as the fact reads them).
    operations: [runOp(up), runOp(new ShellCommand(`cd ${quote(dir)} && ${CONFIG_HASH} | cut -d' ' -f1 > ${STARTED_STAMP}`))],
  }
}

export function harborUp(dir: string): Task {
  const probe = projectStateFact(dir)
  const res: Resource = { title: `Harbor up (compose project ${HARBOR_PROJECT})`, facts: () => [probe], plan: (f: FactValues) => planUp(dir, f.get(probe)) }
  return task(res)
}

/**
 * Exits 0 when /api/v2.0/health says healthy; otherwise prints the overall
 * status and the unhealthy components (the wait's error shows that line).
 */
export function healthProbe(url: string): ShellCommand {
  return new ShellCommand(
    [
      `body=$(curl -ksS --max-time 10 ${quote(url)}) || exit 1`,
      // Read as JSON (jq): Harbor 2.x sends the overall status after the components, which have statuses of their own.
      `status=$(printf '%s' "$body" | jq -r 'if type == "object" then .status // empty else empty end' 2>/dev/null)`,
      `[ "$status" = healthy ] && exit 0`,
      `echo "status: \${status:-no status in: $body}; unhealthy: $(printf '%s' "$body" | jq -r '[.components[]? | select(.status != "healthy") | .name] | join(" ")' 2>/dev/null)"`,
      'exit 1',
    ].join('\n'),
  )
}

/** The node's own health API, as its proxy serves it (HTTPS when Harbor has it: plain HTTP then only redirects). */
export const harborHealthUrl = (o: Pick<HarborNodeOptions, 'http' | 'https'>): string =>
  o.https ? `https://127.0.0.1:${o.https.port}/api/v2.0/health` : `http://127.0.0.1:${o.http.port}/api/v2.0/health`

export function harborHealthy(o: HarborNodeOptions, timeoutMs = 180_000): Task {
  const url = harborHealthUrl(o)
  return waitFor({ command: healthProbe(url) }, { timeoutMs, intervalMs: 2000 }).named(`Harbor healthy (${url})`)
}
