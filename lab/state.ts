// A lab's state directory (/var/lib/berth-lab/<name>/): its lock, its key pair,
// its known_hosts, a small record of what `up` created, and one directory per
// host. Which hosts run is never stored: /proc says (see hosts.ts).
//
//   lock, lock.owner        the lab lock (flock) and who holds it
//   id_ed25519[.pub]        root's key pair for every lab host (kept by `down`)
//   known_hosts             `ADDR,NAME ssh-ed25519 KEY` per host (rewritten by the lab)
//   lab.json                bridge, subnet and image of the running lab
//   hosts/NAME/upper        the host's private overlay layer (its whole disk)
//   hosts/NAME/data/...     real directories bound at the host's lab_data_dirs
//   hosts/NAME/console.log  systemd-nspawn's output: the boot log
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { LabError } from './errors.ts'
import type { LabConfig, LabHost } from './lab-config.ts'
import { run } from './proc.ts'
import { writeFileAtomic } from '../src/write-file-atomic.ts'

export function hostDir(config: LabConfig, host: string): string {
  return join(config.stateDir, 'hosts', host)
}
export const upperDir = (config: LabConfig, host: string): string => join(hostDir(config, host), 'upper')
export const consoleLog = (config: LabConfig, host: string): string => join(hostDir(config, host), 'console.log')


export interface LabRecord {
  name: string
  bridge: string
  subnet: string
  imageDir: string
  inventoryPath: string
  upSince: string
}

const recordPath = (stateDir: string): string => join(stateDir, 'lab.json')

export function readRecord(stateDir: string): LabRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(stateDir), 'utf8')) as LabRecord
  } catch {
    return undefined
  }
}

export function writeRecord(stateDir: string, record: LabRecord): void {
  writeFileAtomic(recordPath(stateDir), JSON.stringify(record, null, 2) + '\n')
}

export function removeRecord(stateDir: string): void {
  rmSync(recordPath(stateDir), { force: true })
}

/** The lab's key pair: made once, kept across `down` (inventories point at it). */
export async function ensureKeyPair(config: LabConfig): Promise<void> {
  if (existsSync(config.keyFile) && existsSync(`${config.keyFile}.pub`)) return
  mkdirSync(dirname(config.keyFile), { recursive: true, mode: 0o700 })
  rmSync(config.keyFile, { force: true })
  rmSync(`${config.keyFile}.pub`, { force: true })
  // Generated beside the target and renamed, so a killed run leaves no half pair.
  const tmp = `${config.keyFile}.tmp-${process.pid}`
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@berth-lab-${config.name}`, '-f', tmp])
  renameSync(`${tmp}.pub`, `${config.keyFile}.pub`)
  renameSync(tmp, config.keyFile)
}

export const hostKeyPub = (config: LabConfig, host: string): string => join(upperDir(config, host), 'etc/ssh/ssh_host_ed25519_key.pub')

/**
 * Rewrite the lab's known_hosts from the host keys on disk: one line per host
 * that exists, by address and by name. Hosts removed by `down` drop out.
 */
export function writeKnownHosts(config: LabConfig, hosts: readonly LabHost[] = config.hosts): void {
  const lines = [`# written by the berth lab (${config.inventoryPath}); rewritten on every up, start and down`]
  for (const h of hosts) {
    const pub = hostKeyPub(config, h.name)
    if (!existsSync(pub)) continue
    const [type, key] = readFileSync(pub, 'utf8').trim().split(/\s+/)
    if (type && key) lines.push(`${h.address},${h.name} ${type} ${key}`)
  }
  writeFileAtomic(config.knownHostsFile, lines.join('\n') + '\n')
}

/**
 * The lab lock. Node cannot hold a flock(2) itself, so a small `flock` child
 * process holds it for us: it takes the lock, prints "locked", and then waits
 * on a pipe from us. When we release, or die in any way (even SIGKILL), the
 * pipe closes, the child exits and the kernel drops the lock: a crashed lab
 * tool never leaves a stale lock behind.
 */
export class LabLock {
  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable> | undefined,
    private readonly ownerFile: string,
  ) {}

  /** Held by the process the environment names (this one runs under it), not taken here. */
  get inherited(): boolean {
    return this.child === undefined
  }

  static async acquire(stateDir: string, purpose: string, waitMs = 15 * 60_000): Promise<LabLock> {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 })
    const lockFile = join(stateDir, 'lock')
    const ownerFile = join(stateDir, 'lock.owner')
    if (heldByNamedHolder(lockFile, ownerFile)) return new LabLock(undefined, ownerFile)
    const child = spawn('flock', ['--exclusive', '--wait', String(Math.ceil(waitMs / 1000)), lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let told = false
    const tellTimer = setTimeout(() => {
      told = true
      let owner = 'another lab command'
      try {
        const o = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid: number; purpose: string; since: string }
        owner = `pid ${o.pid} (${o.purpose}, since ${o.since})`
      } catch {
        // no owner record: keep the generic wording
      }
      process.stderr.write(`lab: waiting for the lab lock ${lockFile}, held by ${owner}\n`)
    }, 500)
    try {
      await new Promise<void>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString()
          if (out.includes('locked')) resolve()
        })
        child.on('error', (e) => reject(new LabError(`cannot run flock for the lab lock: ${e.message}`, { hint: 'apt-get install util-linux' })))
        child.on('exit', (code) =>
          reject(
            new LabError(`the lab lock ${lockFile} is still held after ${Math.round(waitMs / 1000)} s (flock exit ${code})`, {
              hint: `another lab command or test is using lab ${stateDir}; see ${ownerFile}`,
            }),
          ),
        )
      })
    } finally {
      clearTimeout(tellTimer)
    }
    if (told) process.stderr.write('lab: got the lab lock\n')
    writeFileAtomic(ownerFile, JSON.stringify({ pid: process.pid, purpose, since: new Date().toISOString() }) + '\n')
    return new LabLock(child, ownerFile)
  }

  async release(): Promise<void> {
    // An inherited lock stays with its holder.
    const child = this.child
    if (child === undefined) return
    if (child.exitCode !== null || child.signalCode !== null) return
    rmSync(this.ownerFile, { force: true })
    const gone = new Promise<void>((r) => child.once('exit', () => r()))
    child.stdin.end()
    await gone
  }
}

/**
 * The environment variable a lock holder sets for the commands it runs: a
 * drill's power commands (`lab kill db1`, run by a playbook that a test holding
 * the lock started) would otherwise wait for a lock their own parent holds.
 */
export const LOCK_HOLDER_ENV = 'BERTH_LAB_LOCK_HOLDER'

/** The lock is held (flock says so) by the process this one's environment names as the holder (lock.owner says so): the holder passes the name only to what it runs. */
function heldByNamedHolder(lockFile: string, ownerFile: string): boolean {
  const holder = process.env[LOCK_HOLDER_ENV]
  if (!holder) return false
  let owner: number | undefined
  try {
    owner = (JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid: number }).pid
  } catch {
    return false
  }
  if (String(owner) !== holder) return false
  // flock --nonblock fails (exit 1) while someone holds the lock.
  return spawnSync('flock', ['--nonblock', '--shared', lockFile, 'true']).status === 1
}
