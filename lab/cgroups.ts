// Each lab host gets its own cgroup on this machine before its nspawn starts.
//
// Why: there is no systemd on this machine to give systemd-nspawn a scope, so
// every nspawn would sit in the root cgroup and put its payload in the same
// `/payload` cgroup, and the hosts' systemds would share one cgroup tree.
// (Binding the machine's /sys/fs/cgroup into hosts, as once tried for
// dockerd, is worse: inside their cgroup namespace hosts then see their own
// processes at paths like `/../system.slice/…`, refuse PID files ("New main
// PID does not belong to service") and `systemctl start postgresql` hangs.)
// With a cgroup per host, each host's cgroup namespace is rooted in its own
// subtree /berth-lab/<lab>/<host>/payload, and hosts never share a cgroup.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { LabConfig } from './lab-config.ts'

export interface CgroupMount {
  path: string
  /** cgroup2 (unified), or a v1 hierarchy. */
  version: 1 | 2
  /** For v1: the `name=systemd` hierarchy, which systemd tracks processes in. */
  systemdNamed: boolean
}

export function cgroupMounts(): CgroupMount[] {
  const out: CgroupMount[] = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const mountPoint = line.split(' ')[4]
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ')
    if (!mountPoint) continue
    if (fstype === 'cgroup2') out.push({ path: mountPoint, version: 2, systemdNamed: false })
    else if (fstype === 'cgroup') out.push({ path: mountPoint, version: 1, systemdNamed: superOptions.split(',').includes('name=systemd') })
  }
  return out
}

const labCgroup = (config: LabConfig): string => join('berth-lab', config.name)

/**
 * Create the host's cgroup in the hierarchies process tracking uses (cgroup2
 * and v1 `name=systemd`) and return the directories; the host's nspawn is
 * moved into each before it starts. Other v1 controllers stay where the lab
 * tool runs; the host's systemd places its units in them itself.
 */
export function prepareHostCgroups(config: LabConfig, host: string): string[] {
  const dirs = cgroupMounts()
    .filter((m) => m.version === 2 || m.systemdNamed)
    .map((m) => join(m.path, labCgroup(config), host))
  for (const d of dirs) mkdirSync(d, { recursive: true })
  return dirs
}

function rmdirTree(dir: string): number {
  let left = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    try {
      if (statSync(p).isDirectory()) left += rmdirTree(p)
    } catch {
      // vanished meanwhile
    }
  }
  try {
    rmdirSync(dir) // only an empty cgroup (no processes, no children) can go
  } catch {
    left++
  }
  return left
}

/** Remove the lab's cgroups in every hierarchy (after its processes are gone). Returns how many could not be removed. */
export function removeLabCgroups(config: LabConfig): number {
  let left = 0
  for (const m of cgroupMounts()) {
    const dir = join(m.path, labCgroup(config))
    if (!existsSync(dir)) continue
    left += rmdirTree(dir)
    try {
      rmdirSync(join(m.path, 'berth-lab')) // shared by all labs: only when the last one is gone
    } catch {
      // another lab still has cgroups here
    }
  }
  return left
}

/** Lab cgroup directories still present (the tests expect none after `down`). */
export function labCgroupsLeft(config: LabConfig): string[] {
  return cgroupMounts()
    .map((m) => join(m.path, labCgroup(config)))
    .filter((d) => existsSync(d))
}
