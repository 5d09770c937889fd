// The cluster's life on a host, as resources: check what can be known before
// anything changes, keep the package's own cluster out of the way (dropping it
// only while it holds nothing), create the cluster at the chosen directory,
// and keep ALTER SYSTEM from overriding berth's settings.
import { BerthError, exitCodeFact, fileContentFact, planContent, sh, task, withCommandOperations, type CommandsPlan, type ContentPlan, type Fact, type FactValues, type FileState, type Plan, type Resource, type ShellCommand, type Task } from '../../src/index.ts'
import { aptCandidateFact, clustersFact, dataDirFact, isPristine, type AptCandidate, type ClusterEntry, type DataDirState } from './cluster-facts.ts'
import { packageDefaultDataDir, type ClusterId } from './layout.ts'
import { withoutManagedSettings } from './settings.ts'

export interface PreflightInput extends ClusterId {
  role: string
  package: string
  /** Option name -> directory path that must not be a file. */
  directories: Readonly<Record<string, string>>
  /** Options whose directory is replaced by a rename (a standby's base backup), so it cannot be a mount point. */
  renamed?: readonly string[]
}

const describeKind = (d: DataDirState): string =>
  d.kind === 'not-a-directory' ? 'not a directory (a file or a link)' : d.kind === 'cluster' ? `a PostgreSQL ${d.version} cluster` : d.kind

/** Pure: fail with the option's name when the host cannot be what the options ask for. */
export function planPreflight(input: PreflightInput, candidate: AptCandidate, dirs: Readonly<Record<string, DataDirState>>, mountPoints: ReadonlySet<string> = new Set()): Plan {
  for (const [option, path] of Object.entries(input.directories)) {
    const d = dirs[option]
    if (mountPoints.has(option))
      throw new BerthError(`role ${input.role}: option '${option}' (${path}) is a mount point, and a new base backup replaces the directory by renaming it`, {
        hint: `use a directory inside the mounted file system, e.g. ${path}/data`,
      })
    if (d?.kind === 'not-a-directory')
      throw new BerthError(`role ${input.role}: option '${option}' (${path}) is ${describeKind(d)} on this host`, {
        hint: `give a directory path for ${option}, or remove what is at ${path}`,
      })
    if (d?.kind === 'cluster' && d.version !== input.version)
      throw new BerthError(`role ${input.role}: option '${option}' (${path}) holds a PostgreSQL ${d.version} cluster, not ${input.version}`, {
        hint: `set version: ${d.version}, or choose another ${option}; berth does not upgrade clusters`,
      })
  }
  if (!candidate.installed && !candidate.candidate)
    throw new BerthError(`role ${input.role}: option 'version' (${input.version}): package ${input.package} is not available from this host's apt sources`, {
      hint: `use a version the distribution ships, or packages: { from: 'pgdg', uri, key } for PostgreSQL's own repository`,
    })
  const pkg = candidate.installed ? `${input.package} ${candidate.installed} installed` : `${input.package} ${candidate.candidate} available`
  return { changed: false, summary: `${pkg}; ${Object.entries(input.directories).map(([o, p]) => `${o} ${p}: ${describeKind(dirs[o] ?? { kind: 'absent' })}`).join('; ')}` }
}

/** Read-only checks that must pass before the role changes anything on the host. */
export function preflight(input: PreflightInput): Task {
  const candidate = aptCandidateFact(input.package)
  const dirFacts = Object.fromEntries(Object.entries(input.directories).map(([o, p]) => [o, dataDirFact(p, input.version)]))
  // mountpoint(1) exits 0 for a mount point, 1 or 32 otherwise (also when the path is missing).
  const mountFacts = (input.renamed ?? []).map((o) => [o, exitCodeFact(sh`mountpoint -q -- ${input.directories[o] ?? ''}`)] as const)
  const res: Resource<Plan> = {
    title: `preflight: ${input.package}, ${Object.values(input.directories).join(', ')}`,
    facts: () => [candidate, ...Object.values(dirFacts), ...mountFacts.map(([, f]) => f)],
    plan: (facts: FactValues) =>
      planPreflight(
        input,
        facts.get(candidate),
        Object.fromEntries(Object.entries(dirFacts).map(([o, f]) => [o, facts.get(f)])),
        new Set(mountFacts.filter(([, f]) => facts.get(f) === 0).map(([o]) => o)),
      ),
  }
  return task(res)
}

/**
 * Pure: the cluster the package created by itself (same version and name, at
 * the package's default directory) stands where ours must be registered. It
 * goes only while it is pristine; one that holds anything stops the run.
 */
export function planDropDefault(role: string, c: ClusterId, dataDir: string, clusters: readonly ClusterEntry[], atDefault: DataDirState): CommandsPlan {
  const existing = clusters.find((e) => e.version === c.version && e.name === c.cluster)
  if (!existing || existing.dataDir === dataDir) return { changed: false, summary: existing ? `cluster ${c.version}/${c.cluster} is at ${dataDir}` : 'no other cluster in the way', commands: [] }
  if (existing.dataDir !== packageDefaultDataDir(c) || !isPristine(atDefault))
    throw new BerthError(`role ${role}: cluster ${c.version}/${c.cluster} already exists at ${existing.dataDir} and may hold data; berth will not drop it`, {
      hint: `keep it by setting dataDir: ${existing.dataDir}, or back it up and remove it yourself (pg_dropcluster --stop ${c.version} ${c.cluster}) before the next run`,
    })
  return {
    changed: true,
    summary: `drop the package's empty cluster ${c.version}/${c.cluster} at ${existing.dataDir} (never used)`,
    commands: [sh`pg_dropcluster --stop ${c.version} ${c.cluster}`],
  }
}

export function dropPackageDefaultCluster(role: string, c: ClusterId, dataDir: string): Task {
  const atDefault = dataDirFact(packageDefaultDataDir(c), c.version)
  const res: Resource<CommandsPlan> = {
    title: `no unused package cluster in the way of ${c.version}/${c.cluster}`,
    facts: () => [clustersFact, atDefault],
    plan: (facts) => withCommandOperations(planDropDefault(role, c, dataDir, facts.get(clustersFact), facts.get(atDefault))),
  }
  return task(res)
}

export interface CreateClusterInput extends ClusterId {
  role: string
  dataDir: string
  port: number
  locale: string
}

export function createClusterCommand(i: CreateClusterInput): ShellCommand {
  return sh`pg_createcluster --datadir=${i.dataDir} --port=${i.port} --locale=${i.locale} --encoding=UTF8 ${i.version} ${i.cluster}`
}

/** Pure: register the cluster at dataDir with postgresql-common, creating it when the directory is empty. */
export function planCreateCluster(i: CreateClusterInput, clusters: readonly ClusterEntry[], dir: DataDirState): CommandsPlan {
  const existing = clusters.find((e) => e.version === i.version && e.name === i.cluster)
  if (existing?.dataDir === i.dataDir) return { changed: false, summary: `cluster ${i.version}/${i.cluster} at ${i.dataDir} (${existing.status})`, commands: [] }
  if (dir.kind === 'absent' || dir.kind === 'empty' || existing)
    // An existing cluster elsewhere is dropped by the task before this one (or stops the run there).
    return { changed: true, summary: `create cluster ${i.version}/${i.cluster} at ${i.dataDir}, port ${i.port}`, commands: [createClusterCommand(i)] }
  throw new BerthError(`role ${i.role}: option 'dataDir' (${i.dataDir}) is ${describeKind(dir)} that postgresql-common does not know as cluster ${i.version}/${i.cluster}`, {
    hint: 'berth creates a cluster only in an empty or missing directory: choose another dataDir, or move its contents away after checking what they are',
  })
}

export function createCluster(i: CreateClusterInput): Task {
  const dir = dataDirFact(i.dataDir, i.version)
  const res: Resource<CommandsPlan> = {
    title: `cluster ${i.version}/${i.cluster} at ${i.dataDir}`,
    facts: () => [clustersFact, dir],
    plan: (facts) => withCommandOperations(planCreateCluster(i, facts.get(clustersFact), facts.get(dir))),
  }
  return task(res)
}

/** postgresql.auto.conf without the settings berth manages (ALTER SYSTEM would override them unseen). */
export function autoConfWithoutManaged(dataDir: string, managed: ReadonlySet<string>): Task {
  const path = `${dataDir}/postgresql.auto.conf`
  const probe: Fact<FileState> = fileContentFact(path)
  const res: Resource<ContentPlan> = {
    title: `no ALTER SYSTEM overrides of managed settings in ${path}`,
    facts: () => [probe],
    plan: (facts) => {
      const current = facts.get(probe)
      let removed: string[] = []
      const plan = planContent(path, current, { edit: (before) => {
        if (before === undefined) return undefined
        const r = withoutManagedSettings(before, managed)
        removed = r.removed
        return r.text
      } }, { owner: 'postgres', group: 'postgres', mode: '0600' })
      return plan.changed && removed.length > 0 ? { ...plan, summary: `remove ALTER SYSTEM overrides of ${removed.join(', ')}` } : plan
    },
  }
  return task(res)
}
