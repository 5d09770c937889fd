// The lab as one object: what the CLI verbs and the tests call. Every verb
// that changes the machine runs under the lab lock, so two lab commands (or a
// test file and a CLI) never interleave; `hold()` keeps the lock across several
// verbs, which is how a test file owns the lab for its whole run.
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { labCgroupsLeft, removeLabCgroups } from './cgroups.ts'
import { ensureInotifyInstances } from './kernel-limits.ts'
import { HOST_TOOLS, LabError, requireLinuxRoot, requireTools } from './errors.ts'
import {
  dataDirOnMachine,
  findHostProcesses,
  hostMemoryMb,
  killHost,
  machineName,
  nsenterArgs,
  orphanedHostProcesses,
  prepareHost,
  spawnHost,
  sshArgs,
  stopHost,
  waitForSsh,
  type HostProcess,
} from './hosts.ts'
import { ensureArtifacts } from './artifacts.ts'
import { checkImage, cleanStaleBuilds, ensureImage, mountsUnder, readImage, type ImageInfo, type Log } from './image.ts'
import { loadLabConfig, selectHosts, type LabConfig, type LabHost } from './lab-config.ts'
import { bridgePorts, ensureBridge, hostVeth, isLinkUp, linkInfo, removeBridge, setLink } from './network.ts'
import { pidNamespace, procEntry, processesInNamespace, run, signal, waitGone, waitReaped, type ProcEntry } from './proc.ts'
import { Progress } from './progress.ts'
import { LabLock, LOCK_HOLDER_ENV, ensureKeyPair, hostDir, readRecord, removeRecord, upperDir, writeKnownHosts, writeRecord } from './state.ts'

/** `down`'s warning about killed processes whose parent has not reaped them. */
export function unreapedMessage(lab: string, left: readonly ProcEntry[], hostOf: ReadonlyMap<number, string>): string {
  const each = left.map((p) => {
    const parent = procEntry(p.ppid)
    const what = p.state === 'Z' ? `a zombie of pid ${p.ppid}${parent ? ` (${parent.comm})` : ''}, which has not reaped it` : `state ${p.state}, parent pid ${p.ppid}`
    const host = hostOf.get(p.pid)
    return `${p.pid} ${p.comm}${host ? ` of ${host}` : ''}: ${what}`
  })
  return (
    `lab: ${left.length} killed process${left.length === 1 ? '' : 'es'} of lab ${lab} still listed in /proc after ${REAP_TIMEOUT_MS / 1000} s: ${each.join('; ')}. ` +
    'A zombie holds no memory, mount or network, and leaves /proc when its parent reaps it.'
  )
}

/** inventory/lab.yml of this checkout. */
export const DEFAULT_INVENTORY = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'inventory', 'lab.yml')

export type HostState = 'running' | 'partitioned' | 'booting' | 'stopped' | 'absent'

export interface HostStatus {
  name: string
  address: string
  groups: string[]
  state: HostState
  nspawnPid?: number | undefined
  /** PSS of the host's processes, MB. */
  memoryMb?: number | undefined
}

export interface UpResult {
  started: string[]
  alreadyRunning: string[]
  seconds: number
  image: ImageInfo
}

export interface DownResult {
  killedHosts: string[]
  orphans: number
  bridgeRemoved: boolean
  /**
   * Killed processes still listed in /proc when `down` gave up waiting for
   * their parent to reap them (zombies: they hold no memory, mount or
   * network). Empty on a machine whose PID 1 reaps.
   */
  unreaped: number[]
  seconds: number
}

/**
 * How long `down` waits for killed processes to leave /proc. A detached
 * host's nspawn is reparented to PID 1 when `up` exits, and only PID 1 can
 * reap it; the sandbox init here reaps about once a second, so a zombie
 * stays listed for 1 to 2 s.
 */
export const REAP_TIMEOUT_MS = 10_000

const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10

export class Lab {
  readonly config: LabConfig
  readonly log: Log
  /** Long steps (image build, booting hosts); plain lines through `log` unless given one. */
  readonly progress: Progress
  #lock: LabLock | undefined

  constructor(config: LabConfig, log: Log = (l) => process.stderr.write(l + '\n'), progress?: Progress) {
    this.config = config
    this.log = log
    this.progress = progress ?? Progress.lines(log)
  }

  static open(inventoryPath: string = DEFAULT_INVENTORY, log?: Log, progress?: Progress): Lab {
    return new Lab(loadLabConfig(inventoryPath), log, progress)
  }

  /** Take the lab lock until `release()`: verbs called meanwhile run under it. */
  async hold(purpose: string): Promise<void> {
    requireLinuxRoot()
    if (!this.#lock) this.#lock = await LabLock.acquire(this.config.stateDir, purpose)
    // Lab commands this process runs (a drill's power commands) work under the lock it holds (or under the one it inherited).
    if (!this.#lock.inherited) process.env[LOCK_HOLDER_ENV] = String(process.pid)
  }

  async release(): Promise<void> {
    const lock = this.#lock
    this.#lock = undefined
    if (process.env[LOCK_HOLDER_ENV] === String(process.pid)) delete process.env[LOCK_HOLDER_ENV]
    await lock?.release()
  }

  async #locked<T>(purpose: string, fn: () => Promise<T>): Promise<T> {
    requireLinuxRoot()
    requireTools(HOST_TOOLS)
    if (this.#lock) return fn()
    const lock = await LabLock.acquire(this.config.stateDir, purpose)
    try {
      return await fn()
    } finally {
      await lock.release()
    }
  }

  /**
   * The image this lab's hosts use. A running lab keeps the image it was
   * started on (its hosts' upper dirs are layered on it) until `down`.
   */
  async #image(): Promise<ImageInfo> {
    const image = await this.#hostImage()
    await ensureArtifacts(image, this.log)
    return image
  }

  async #hostImage(): Promise<ImageInfo> {
    const rec = readRecord(this.config.stateDir)
    const hostsExist = existsSync(join(this.config.stateDir, 'hosts')) && readdirSync(join(this.config.stateDir, 'hosts')).length > 0
    if (rec && hostsExist) {
      const pinned = readImage(rec.imageDir)
      if (pinned) {
        const current = await ensureImage({ log: this.log, progress: this.progress })
        if (current.dir !== pinned.dir)
          this.log(`lab: hosts of lab ${this.config.name} were made from image ${pinned.hash}; the recipe now builds ${current.hash}. \`lab down\` then \`lab up\` to switch.`)
        return pinned
      }
    }
    return ensureImage({ log: this.log, progress: this.progress })
  }

  #find(): Map<string, HostProcess> {
    return findHostProcesses(this.config)
  }

  #host(name: string): LabHost {
    return selectHosts(this.config, [name])[0] as LabHost
  }

  /** Start the named hosts (all when none) that are not running, and wait until each answers SSH. Idempotent. */
  async up(names: readonly string[] = []): Promise<UpResult> {
    const t0 = performance.now()
    const wanted = selectHosts(this.config, names)
    requireLinuxRoot()
    requireTools(HOST_TOOLS)
    const image = await this.#image()
    checkImage(image)
    return this.#locked(`lab up ${names.join(' ')}`.trim(), async () => {
      const cfg = this.config
      await ensureKeyPair(cfg)
      // ensureBridge also checks a bridge that is there; only creating one is a step worth showing.
      if ((await linkInfo(cfg.bridge)) !== undefined) await ensureBridge(cfg)
      else await this.progress.task(`creating the bridge ${cfg.bridge} (${cfg.subnet.gateway}/${cfg.subnet.prefix})`, () => ensureBridge(cfg))
      writeRecord(cfg.stateDir, {
        name: cfg.name,
        bridge: cfg.bridge,
        subnet: cfg.subnet.cidr,
        imageDir: image.dir,
        inventoryPath: cfg.inventoryPath,
        upSince: readRecord(cfg.stateDir)?.upSince ?? new Date().toISOString(),
      })
      const running = this.#find()
      const toStart = wanted.filter((h) => !running.has(h.name))
      // Leftovers of a host whose nspawn was killed alone would hold its address: clear them.
      for (const h of toStart) {
        const orphans = orphanedHostProcesses(cfg, new Set(), h.name)
        if (orphans.length === 0) continue
        this.log(`lab: ${h.name}: killing ${orphans.length} leftover processes of an earlier run`)
        for (const pid of orphans) signal(pid, 'SIGKILL')
        await waitGone(orphans, 10_000)
      }
      const raised = ensureInotifyInstances(running.size + toStart.length)
      if (raised) this.log(raised)
      const n = toStart.length
      const hostsWord = `${n} host${n === 1 ? '' : 's'}`
      if (n === 0) writeKnownHosts(cfg)
      else {
        const boot = this.progress.step(`booting ${hostsWord}`)
        let answered = 0
        let failed: string[] = []
        try {
          boot.update('writing hostnames, addresses and SSH host keys')
          for (const h of toStart) await prepareHost(cfg, h)
          // Every key on disk, before any host answers, so the first connection is already strict.
          writeKnownHosts(cfg)
          boot.update(`0/${n} answer SSH`)
          const pids = toStart.map((h) => ({ host: h, pid: spawnHost(cfg, h, image) }))
          const results = await Promise.allSettled(
            pids.map(async ({ host, pid }) => {
              await waitForSsh(cfg, host, pid)
              boot.update(`${++answered}/${n} answer SSH`)
            }),
          )
          failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []))
        } catch (e) {
          boot.failed()
          throw e
        }
        if (failed.length > 0) {
          boot.failed(`${answered}/${n} answer SSH, ${failed.length} did not come up`)
          throw new LabError(failed.join('\n'), { hint: 'the other hosts are up; `npm run lab -- down` resets the lab' })
        }
        boot.done(`${n}/${n} booted and answer SSH`)
      }
      return { started: toStart.map((h) => h.name), alreadyRunning: wanted.filter((h) => running.has(h.name)).map((h) => h.name), seconds: seconds(t0), image }
    })
  }

  /** Start one host (created fresh if it never existed, with its data if it was stopped or killed). */
  async start(name: string): Promise<UpResult> {
    this.#host(name)
    return this.up([name])
  }

  /** Clean shutdown of one host (systemd halts it); its disk stays for `start`. */
  async stop(name: string): Promise<'stopped' | 'killed' | 'not running'> {
    this.#host(name)
    return this.#locked(`lab stop ${name}`, async () => {
      const p = this.#find().get(name)
      if (!p) return 'not running'
      return stopHost(p)
    })
  }

  /** Power cut: every process of the host dies at once; its disk stays for `start`. */
  async kill(name: string): Promise<'killed' | 'not running'> {
    this.#host(name)
    return this.#locked(`lab kill ${name}`, async () => {
      const p = this.#find().get(name)
      if (!p) return 'not running'
      await killHost(p)
      return 'killed'
    })
  }

  async #veth(name: string): Promise<string> {
    const p = this.#find().get(name)
    if (!p || p.initPid === undefined) throw new LabError(`lab host ${name} is not running`, { hint: `start it: npm run lab -- start ${name}` })
    const veth = await hostVeth(p.initPid, this.config.interface)
    if (!veth) throw new LabError(`lab host ${name}: cannot find its veth on the machine`)
    return veth.ifname
  }

  /** Cut a host off the lab network, both directions (its veth goes down like a pulled cable). */
  async partition(name: string): Promise<string> {
    this.#host(name)
    return this.#locked(`lab partition ${name}`, async () => {
      const veth = await this.#veth(name)
      await setLink(veth, 'down')
      return veth
    })
  }

  /** Undo `partition`. */
  async heal(name: string): Promise<string> {
    this.#host(name)
    return this.#locked(`lab heal ${name}`, async () => {
      const veth = await this.#veth(name)
      await setLink(veth, 'up')
      return veth
    })
  }

  /**
   * Cut the link between two hosts only: each drops what comes from the other
   * and what it would send to it (blackhole policy rules in its network
   * namespace, set from the machine), while the machine and every other host still reach both.
   * Two nodes of a cluster that cannot hear each other: a split brain. Covers
   * unicast traffic (VRRP unicast adverts included), not multicast.
   */
  async partitionBetween(a: string, b: string): Promise<void> {
    await this.#linkRules('partition', a, b, 'add')
  }

  /** Undo `partitionBetween`; rules already gone are fine. */
  async healBetween(a: string, b: string): Promise<void> {
    await this.#linkRules('heal', a, b, 'del')
  }

  async #linkRules(verb: string, a: string, b: string, action: 'add' | 'del'): Promise<void> {
    if (a === b) throw new LabError(`lab ${verb}: ${a} and ${b} are the same host`)
    const [ha, hb] = [this.#host(a), this.#host(b)]
    await this.#locked(`lab ${verb} ${a} ${b}`, async () => {
      for (const [self, other] of [[ha, hb], [hb, ha]] as const) {
        const p = this.#find().get(self.name)
        if (!p || p.initPid === undefined) throw new LabError(`lab host ${self.name} is not running`, { hint: `start it: npm run lab -- start ${self.name}` })
        // The kernel's first rule (priority 0) looks up local addresses, so a packet for the host itself would be
        // delivered before any blackhole rule: while cut, that lookup moves behind the two blackhole rules.
        const o = `${other.address}/32`
        const script =
          action === 'add'
            ? `ip rule show priority 100 | grep -q . || { ip rule add from ${o} priority 100 blackhole && ip rule add to ${o} priority 100 blackhole; }; ` +
              `ip rule show priority 0 | grep -q . && { ip rule add from all lookup local priority 1000 && ip rule del priority 0; }; true`
            : `ip rule show priority 0 | grep -q . || { ip rule add from all lookup local priority 0 && ip rule del priority 1000; }; ` +
              `while ip rule show priority 100 | grep -q .; do ip rule del priority 100 || break; done; true`
        const r = await run('nsenter', ['--target', String(p.initPid), '--net', '--', 'sh', '-ec', script], { allowFail: true })
        if (r.code !== 0) throw new LabError(`lab ${verb}: changing ${self.name}'s routing rules failed: ${r.stderr.trim()}`)
      }
    })
  }

  /** Hosts, state and address; read-only and lock-free. */
  async status(): Promise<HostStatus[]> {
    requireLinuxRoot()
    const running = this.#find()
    const out: HostStatus[] = []
    for (const h of this.config.hosts) {
      const p = running.get(h.name)
      let state: HostState
      if (!p) state = existsSync(upperDir(this.config, h.name)) ? 'stopped' : 'absent'
      else if (p.initPid === undefined) state = 'booting'
      else {
        const veth = await hostVeth(p.initPid, this.config.interface)
        state = veth && !isLinkUp(veth) ? 'partitioned' : 'running'
      }
      out.push({ name: h.name, address: h.address, groups: h.groups, state, nspawnPid: p?.nspawnPid, memoryMb: p ? hostMemoryMb(p) : undefined })
    }
    return out
  }

  /**
   * Stop everything of this lab and leave nothing behind: host processes
   * (found in /proc, so this also cleans up after a crashed or killed lab
   * tool), veths, the bridge, mounts and the hosts' disks. Keeps the image
   * cache and the key pair, which are reused. Idempotent.
   */
  async down(): Promise<DownResult> {
    const t0 = performance.now()
    return this.#locked('lab down', async () => {
      const cfg = this.config
      const procs = this.#find()
      const pids = new Set<number>()
      for (const p of procs.values()) {
        pids.add(p.nspawnPid)
        if (p.initPid !== undefined) pids.add(p.initPid)
      }
      // Who is to die, with start times (pids get reused): `down` returns when
      // they are gone from /proc, zombies included, not just dead.
      const hostOf = new Map<number, string>()
      for (const p of procs.values()) {
        hostOf.set(p.nspawnPid, p.host)
        const ns = p.initPid === undefined ? undefined : pidNamespace(p.initPid)
        for (const pid of ns ? processesInNamespace(ns) : []) hostOf.set(pid, p.host)
      }
      const tracked = [...hostOf.keys()].flatMap((pid) => procEntry(pid) ?? [])
      // Hosts are thrown away: a power cut is as good as a shutdown, and faster.
      await Promise.all([...procs.values()].map((p) => killHost(p).catch(() => undefined)))
      const orphans = orphanedHostProcesses(cfg, pids)
      tracked.push(...orphans.flatMap((pid) => procEntry(pid) ?? []))
      for (const pid of orphans) signal(pid, 'SIGKILL')
      if (!(await waitGone(orphans, 10_000))) throw new LabError(`lab ${cfg.name}: processes ${orphans.join(', ')} survived SIGKILL`)
      // Dead now; reaping is up to their parents. Clean up meanwhile, then wait for it.
      const reaped = waitReaped(tracked, REAP_TIMEOUT_MS)

      // nspawn keeps a per-machine directory under /run; a SIGKILLed nspawn cannot remove it.
      for (const h of cfg.hosts) rmSync(`/run/systemd/nspawn/propagate/${machineName(cfg, h.name)}`, { recursive: true, force: true })

      const cgroupsLeft = removeLabCgroups(cfg)
      if (cgroupsLeft > 0) this.log(`lab: ${cgroupsLeft} cgroup(s) of lab ${cfg.name} are still busy and were left in place`)

      const rec = readRecord(cfg.stateDir)
      let bridgeRemoved = await removeBridge(cfg.bridge, cfg.name)
      if (rec && rec.bridge !== cfg.bridge) bridgeRemoved = (await removeBridge(rec.bridge, cfg.name)) || bridgeRemoved

      for (const m of mountsUnder(cfg.stateDir)) await run('umount', ['--lazy', m], { allowFail: true })
      const left = mountsUnder(cfg.stateDir)
      if (left.length > 0) throw new LabError(`lab ${cfg.name}: ${left[0]} is still mounted`, { hint: `umount -l ${left[0]}` })
      rmSync(join(cfg.stateDir, 'hosts'), { recursive: true, force: true })
      removeRecord(cfg.stateDir)
      if (existsSync(cfg.stateDir)) writeKnownHosts(cfg)
      for (const f of existsSync(cfg.stateDir) ? readdirSync(cfg.stateDir) : []) if (/\.tmp-\d+$/.test(f)) rmSync(join(cfg.stateDir, f), { force: true })
      await cleanStaleBuilds(this.log)
      const unreaped = await reaped
      if (unreaped.length > 0) this.log(unreapedMessage(cfg.name, unreaped, hostOf))
      return { killedHosts: [...procs.keys()], orphans: orphans.length, bridgeRemoved, unreaped: unreaped.map((p) => p.pid), seconds: seconds(t0) }
    })
  }

  /** What `down` must leave at zero; the tests assert on it. */
  async leftovers(): Promise<{ processes: number[]; bridge: boolean; bridgePorts: string[]; mounts: string[]; hostDirs: boolean; cgroups: string[] }> {
    const procs = this.#find()
    const pids = [...procs.values()].flatMap((p) => [p.nspawnPid, ...(p.initPid === undefined ? [] : [p.initPid])])
    return {
      processes: [...pids, ...orphanedHostProcesses(this.config, new Set(pids))],
      bridge: (await linkInfo(this.config.bridge)) !== undefined,
      bridgePorts: await bridgePorts(this.config.bridge),
      mounts: mountsUnder(this.config.stateDir),
      hostDirs: existsSync(join(this.config.stateDir, 'hosts')),
      cgroups: labCgroupsLeft(this.config),
    }
  }

  /** Arguments for the system ssh client, strict host key checking on. */
  sshArgs(name: string, extra: readonly string[] = []): string[] {
    return sshArgs(this.config, this.#host(name), extra)
  }

  /** Run a command inside a host through its namespaces (no network needed): for checks during a partition. */
  async exec(name: string, argv: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    requireLinuxRoot()
    const p = this.#find().get(name)
    if (!p) throw new LabError(`lab host ${name} is not running`)
    return run('nsenter', nsenterArgs(p, argv), { allowFail: true, timeoutMs: 60_000 })
  }

  /** The host's real directory behind one of its lab_data_dirs. */
  dataDir(name: string, path: string): string {
    return dataDirOnMachine(this.config, name, path)
  }

  hostDir(name: string): string {
    return hostDir(this.config, name)
  }
}
