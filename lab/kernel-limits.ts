// Limits of the machine's kernel that many booted hosts share. Every host's
// systemd and its services take inotify instances from the one per-user pool
// (fs.inotify.max_user_instances, 128 on Debian); at about 20 hosts it runs out
// and hosts boot with "Failed to create inotify object: Too many open files"
// and no sshd. The lab raises the limit, never lowers it, and says so.
import { readFileSync, writeFileSync } from 'node:fs'

const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances'
/** Room per host, measured: a booted host holds 6 to 7; the rest is headroom for roles' services. */
export const INOTIFY_PER_HOST = 32
const BASE = 128

/** What the limit must be for this many hosts at once. */
export const inotifyInstancesFor = (hosts: number): number => BASE + INOTIFY_PER_HOST * hosts

/** Raise fs.inotify.max_user_instances to what `hosts` need; returns a line to log when it changed it. */
export function ensureInotifyInstances(hosts: number, path = INOTIFY_INSTANCES): string | undefined {
  const current = Number(readFileSync(path, 'utf8').trim())
  const needed = inotifyInstancesFor(hosts)
  if (Number.isFinite(current) && current >= needed) return undefined
  writeFileSync(path, `${needed}\n`)
  return `lab: raised fs.inotify.max_user_instances from ${current} to ${needed} for ${hosts} hosts (each host's systemd needs several)`
}
