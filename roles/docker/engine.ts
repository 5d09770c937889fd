// The Docker engine and compose, for the roles that run containers
// (mysql-redis-compose, harbor-node): from the host's own Docker repository
// when apt has one (docker-ce, as Docker's install guide sets up), from the
// distribution otherwise (docker.io and docker-compose). An engine already
// installed, from either, is kept as it is.
import { aptInstallCommand, fact, packageBaseName, packagesFact, runOp, service, sh, task, type FactValues, type Plan, type Resource, type ShellCommand, type Task } from '../../src/index.ts'

export type DockerSource = 'auto' | 'distribution' | 'docker-ce'

export interface DockerEngineOptions {
  /** Where the engine comes from: 'auto' takes docker-ce when the host's apt sources offer it. */
  source: DockerSource
}

export const DOCKER_ENGINE_DEFAULTS: DockerEngineOptions = { source: 'auto' }

const ENGINES = ['docker.io', 'docker-ce'] as const
const COMPOSES = ['docker-compose', 'docker-compose-plugin'] as const
export const DISTRIBUTION_PACKAGES = ['docker.io', 'docker-compose'] as const
export const DOCKER_CE_PACKAGES = ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin'] as const

/** Whether apt offers docker-ce (a `Candidate:` other than none). */
export const dockerCeCandidateFact = fact('apt-candidate:docker-ce', sh`apt-cache policy docker-ce 2>/dev/null`, (o) => {
  const m = /Candidate:\s*(\S+)/.exec(o.stdout)
  return m !== null && m[1] !== '(none)'
}, { slow: true })

/** Pure: which packages to install, given what is installed and what apt offers. */
export function dockerPackagesToInstall(source: DockerSource, installed: (name: string) => boolean, dockerCeOffered: boolean): string[] {
  const engine = ENGINES.find(installed)
  const compose = COMPOSES.some(installed)
  if (engine && compose) return []
  const fromDockerCe = engine ? engine === 'docker-ce' : source === 'docker-ce' || (source === 'auto' && dockerCeOffered)
  if (engine) return fromDockerCe ? ['docker-compose-plugin'] : ['docker-compose']
  return [...(fromDockerCe ? DOCKER_CE_PACKAGES : DISTRIBUTION_PACKAGES)]
}

export function dockerPackages(o: DockerEngineOptions): Task {
  const probe = packagesFact([...ENGINES, ...COMPOSES])
  const res: Resource = {
    title: 'Docker engine and compose',
    facts: () => [probe, dockerCeCandidateFact],
    plan: (facts: FactValues): Plan => {
      const statuses = facts.get(probe)
      const missing = dockerPackagesToInstall(o.source, (n) => statuses.get(packageBaseName(n))?.installed ?? false, facts.get(dockerCeCandidateFact))
      if (missing.length === 0) return { changed: false, summary: 'installed' }
      return { changed: true, summary: `install ${missing.join(', ')}`, operations: [runOp(aptInstallCommand(missing))] }
    },
  }
  return task(res)
}

export function dockerEngineTasks(o: DockerEngineOptions): Task[] {
  return [dockerPackages(o), service({ name: 'docker', state: 'started', enabled: true }).named('docker running and enabled')]
}

/**
 * `docker compose` when the plugin is there, `docker-compose` otherwise,
 * decided on the host each time it runs: the runbook carries the same rule.
 */
export function composeCommand(projectDir: string, projectName: string, args: readonly string[]): ShellCommand {
  return sh`cd ${projectDir} && if docker compose version >/dev/null 2>&1; then docker compose -p ${projectName} ${args}; else docker-compose -p ${projectName} ${args}; fi`
}
