// Installed Debian packages, from dpkg-query. A package dpkg has never heard of
// is simply not installed (dpkg-query then exits 1 and says so on stderr).
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

export interface PackageStatus {
  /** dpkg's status triple: 'install ok installed', 'deinstall ok config-files'… */
  status: string
  version: string
  /** The third word of the status is 'installed' (also true for held packages). */
  installed: boolean
}

/** Package name (without any `:arch` qualifier) -> status; names dpkg does not know are absent. */
export type PackageStatuses = ReadonlyMap<string, PackageStatus>

const FORMAT = '${Package}\t${Status}\t${Version}\n'

/** `pkg` or `pkg:arch` -> `pkg`, the name dpkg-query prints in ${Package}. */
export const packageBaseName = (name: string): string => name.split(':')[0] ?? name

export function parseDpkgQuery(output: ProbeOutput): PackageStatuses {
  // 1 = some names matched no package: expected; anything else is a real failure.
  if (output.code !== 0 && output.code !== 1) throw new Error(output.stderr.trim() || `dpkg-query exited with code ${output.code}`)
  const statuses = new Map<string, PackageStatus>()
  for (const line of output.stdout.split('\n')) {
    if (!line) continue
    const [name, status, version] = line.split('\t')
    if (!name || status === undefined || version === undefined) throw new Error(`unexpected dpkg-query line: ${JSON.stringify(line)}`)
    const installed = status.split(' ')[2] === 'installed'
    // With several architectures of one package, installed anywhere counts as installed.
    const previous = statuses.get(name)
    if (previous?.installed) continue
    statuses.set(name, { status, version, installed })
  }
  return statuses
}

export function packagesFact(names: readonly string[]): Fact<PackageStatuses> {
  const sorted = [...new Set(names)].sort()
  return fact(`packages:${sorted.join(',')}`, sh`dpkg-query -W -f ${FORMAT} -- ${sorted}`, parseDpkgQuery)
}
