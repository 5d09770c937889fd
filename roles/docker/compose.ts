// A compose project up: every service running from the definition berth wrote.
// Each service carries a label with the hash of what defines it (its part of
// the compose file and the files it mounts), so a changed definition is seen
// from the running containers and `up -d` recreates exactly what changed.
import { BerthError, fact, runOp, sh, task, type FactValues, type Plan, type Resource, type Task } from '../../src/index.ts'
import { composeCommand } from './engine.ts'

/** The label each service carries: the hash of its definition. */
export const SPEC_LABEL = 'io.berth.spec'

export interface ContainerState {
  running: boolean
  spec: string
}

/** service name -> state, from `docker ps -a` filtered on the project's label. */
export function parseProjectContainers(stdout: string): Map<string, ContainerState> {
  const m = new Map<string, ContainerState>()
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue
    const [service = '', status = '', spec = ''] = line.split('\t')
    const running = status.startsWith('Up')
    // Two containers of one service (a scaled or half-recreated one): any stopped one counts.
    const known = m.get(service)
    m.set(service, { running: running && (known?.running ?? true), spec })
  }
  return m
}

export function projectContainersFact(project: string) {
  return fact(
    `compose-project:${project}`,
    sh`docker ps -a --filter ${`label=com.docker.compose.project=${project}`} --format ${`{{.Label "com.docker.compose.service"}}\t{{.Status}}\t{{.Label "${SPEC_LABEL}"}}`}`,
    // Read before the engine is installed too: never throws, the plan says what is wrong.
    (o): Map<string, ContainerState> | { unknown: string } => (o.code === 0 ? parseProjectContainers(o.stdout) : { unknown: o.stderr.trim() || `exit ${o.code}` }),
    { slow: true },
  )
}

/** Pure: `up -d` when a service is missing, stopped or defined otherwise than it runs. */
export function planCompose(project: { dir: string; name: string }, wanted: Readonly<Record<string, string>>, running: ReadonlyMap<string, ContainerState>): Plan {
  const why: string[] = []
  for (const [service, spec] of Object.entries(wanted)) {
    const c = running.get(service)
    if (!c) why.push(`${service} not created`)
    else if (c.spec !== spec) why.push(`${service} defined anew`)
    else if (!c.running) why.push(`${service} not running`)
  }
  if (why.length === 0) return { changed: false, summary: `${Object.keys(wanted).join(', ')} running as defined` }
  return { changed: true, summary: `up: ${why.join(', ')}`, operations: [runOp(composeCommand(project.dir, project.name, ['up', '-d', '--remove-orphans']))] }
}

export function composeUp(project: { dir: string; name: string }, wanted: Readonly<Record<string, string>>): Task {
  const probe = projectContainersFact(project.name)
  const res: Resource = {
    title: `compose project ${project.name} up`,
    facts: () => [probe],
    plan: (facts: FactValues) => {
      const running = facts.get(probe)
      if (!(running instanceof Map)) throw new BerthError(`cannot list the containers of compose project ${project.name}: ${running.unknown}`, { hint: 'is the Docker engine installed and running? (systemctl status docker)' })
      return planCompose(project, wanted, running)
    },
  }
  return task(res)
}
