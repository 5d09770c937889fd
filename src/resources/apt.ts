// `apt`: Debian packages installed (or removed). Only the packages that differ
// reach apt-get, so a converged host costs one dpkg-query and nothing else.
import { packageBaseName, packagesFact, type PackageStatuses } from '../facts/packages.ts'
import type { FactValues } from '../facts/fact.ts'
import { sh, type ShellCommand } from '../shell.ts'
import { argumentError, withCommandOperations, type CommandsPlan } from './file.ts'
import { task, type Resource, type Task } from './resource.ts'

export interface AptOptions {
  packages: string[]
  state?: 'present' | 'absent'
  /** Run `apt-get update` first, only when something is to be installed. */
  updateCache?: boolean
}

export interface AptPlan extends CommandsPlan {
  /** The packages apt-get will install or remove. */
  packages: string[]
}

// Debian policy: lowercase letters, digits, + - . ; an optional :arch qualifier.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?$/

const INSTALL_FLAGS = ['-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold']

export function installCommand(packages: readonly string[]): ShellCommand {
  // confold: a configuration file berth (or an operator) changed is never replaced by the package's.
  return sh`DEBIAN_FRONTEND=noninteractive apt-get install ${INSTALL_FLAGS} ${packages}`
}

export function removeCommand(packages: readonly string[]): ShellCommand {
  return sh`DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ${packages}`
}

export function planApt(packages: readonly string[], state: 'present' | 'absent', updateCache: boolean, statuses: PackageStatuses): AptPlan {
  const installed = (name: string) => statuses.get(packageBaseName(name))?.installed ?? false
  if (state === 'present') {
    const missing = packages.filter((p) => !installed(p))
    if (missing.length === 0) return { changed: false, summary: 'all installed', commands: [], packages: [] }
    const commands = [...(updateCache ? [sh`apt-get update -q`] : []), installCommand(missing)]
    return { changed: true, summary: `install ${missing.join(', ')}`, commands, packages: missing }
  }
  const present = packages.filter(installed)
  if (present.length === 0) return { changed: false, summary: 'none installed', commands: [], packages: [] }
  return { changed: true, summary: `remove ${present.join(', ')}`, commands: [removeCommand(present)], packages: present }
}

export function apt(options: AptOptions): Task {
  const resource = 'apt'
  if (!Array.isArray(options.packages) || options.packages.length === 0)
    throw argumentError(resource, 'packages', 'must be a non-empty list of package names')
  for (const name of options.packages)
    if (typeof name !== 'string' || !PACKAGE_NAME.test(name))
      throw argumentError(resource, 'packages', `has an invalid package name ${JSON.stringify(name)}`, 'versions (pkg=1.2) and wildcards are not supported')
  const state = options.state ?? 'present'
  if (state !== 'present' && state !== 'absent') throw argumentError(resource, 'state', "must be 'present' or 'absent'")
  const packages = [...new Set(options.packages)]
  const probe = packagesFact(packages)
  const res: Resource<AptPlan> = {
    title: `apt ${packages.join(', ')}`,
    facts: () => [probe],
    plan: (facts: FactValues) => withCommandOperations(planApt(packages, state, options.updateCache ?? false, facts.get(probe))),
  }
  return task(res)
}
