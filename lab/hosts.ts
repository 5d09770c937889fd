// Lab hosts: one `systemd-nspawn --boot` container per inventory host, with the
// image as a shared read-only lower layer and a private overlay upper dir as
// its disk. Whether a host runs is read from /proc each time (an nspawn whose
// --overlay names the host's upper dir), never from a pid file that may lie.
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { prepareHostCgroups } from './cgroups.ts'
import { LabError } from './errors.ts'
import type { ImageInfo } from './image.ts'
import type { LabConfig, LabHost, SharedDir } from './lab-config.ts'
import { allProcesses, isAlive, mountsMention, pidNamespace, processesInNamespace, pssKb, run, signal, sleep, tail, waitGone, type ProcInfo } from './proc.ts'
import { consoleLog, hostDir, upperDir } from './state.ts'
import { writeFileAtomic } from '../src/write-file-atomic.ts'

/** The machine name systemd-nspawn gets: unique across labs (it names the veth). */
export const machineName = (config: LabConfig, host: string): string => `${config.name}-${host}`

/** Where a host's lab_data_dir lives on the machine: a real directory, not overlay. */
export const dataDirOnMachine = (config: LabConfig, host: string, path: string): string =>
  join(hostDir(config, host), 'data', path.replace(/^\/+/, '').replace(/\//g, '_'))

/** The one machine directory behind a lab_shared_dirs share; under hosts/ so `down` removes it with the hosts (no host is named `.shared`). */
export const sharedDirOnMachine = (config: LabConfig, dir: SharedDir): string => join(config.stateDir, 'hosts', '.shared', dir.share)

export interface HostProcess {
  host: string
  /** The systemd-nspawn process on the machine. */
  nspawnPid: number
  /** The host's own PID 1 (systemd), child of nspawn; undefined while it is being set up. */
  initPid: number | undefined
}

const overlayArg = (config: LabConfig, image: string, host: string): string => `--overlay=${image}:${upperDir(config, host)}:/`

/** Running hosts of this lab, found in /proc by the upper dir their nspawn names. */
export function findHostProcesses(config: LabConfig, procs: ProcInfo[] = allProcesses()): Map<string, HostProcess> {
  const out = new Map<string, HostProcess>()
  const marker = `${config.stateDir}/hosts/`
  for (const p of procs) {
    if (!(p.argv[0] ?? '').endsWith('systemd-nspawn')) continue
    const overlay = p.argv.find((a) => a.startsWith('--overlay=') && a.includes(marker))
    if (!overlay) continue
    const host = overlay.slice(overlay.indexOf(marker) + marker.length).split('/')[0] ?? ''
    const init = procs.find((c) => c.ppid === p.pid)
    out.set(host, { host, nspawnPid: p.pid, initPid: init?.pid })
  }
  return out
}

/**
 * Processes that belong to this lab but whose nspawn is gone (the lab tool or
 * nspawn itself was killed): anything whose mounts name a host's upper dir.
 */
export function orphanedHostProcesses(config: LabConfig, exclude: ReadonlySet<number>, host?: string): number[] {
  const own = pidNamespace(process.pid)
  const needle = host === undefined ? `upperdir=${config.stateDir}/hosts/` : `upperdir=${upperDir(config, host)},`
  return allProcesses()
    .filter((p) => !exclude.has(p.pid) && pidNamespace(p.pid) !== own && mountsMention(p.pid, needle))
    .map((p) => p.pid)
}

/** A host's network config: a static address on host0; sorts before nspawn's default 80-container-host0.network. */
export function networkFile(config: LabConfig, host: LabHost): string {
  return [
    `# Written by the berth lab from ${config.inventoryPath}.`,
    '[Match]',
    `Name=${config.interface}`,
    '',
    '[Network]',
    `Address=${host.address}/${config.subnet.prefix}`,
    // `lab partition` takes the veth down like a pulled cable: keep the address
    // (and any VIP) so `heal` restores traffic at once, with nothing to redo.
    'ConfigureWithoutCarrier=yes',
    'IgnoreCarrierLoss=yes',
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n')
}

export function hostsFile(config: LabConfig): string {
  return [
    '# Written by the berth lab: every lab host by name.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...config.hosts.map((h) => `${h.address}\t${h.name}`),
    ...config.reservedNames.map((r) => `${r.address}\t${r.name}`),
    '',
  ].join('\n')
}

/**
 * Write what makes a host itself into its upper dir, before it boots:
 * hostname, /etc/hosts, network file, root's authorized key, and (once) a
 * machine id and fresh SSH host keys. Only called while the host is down.
 */
export async function prepareHost(config: LabConfig, host: LabHost): Promise<void> {
  const upper = upperDir(config, host.name)
  mkdirSync(join(upper, 'etc/ssh'), { recursive: true })
  writeFileAtomic(join(upper, 'etc/hostname'), `${host.name}\n`)
  writeFileAtomic(join(upper, 'etc/hosts'), hostsFile(config))
  writeFileAtomic(join(upper, 'etc/systemd/network/10-berth-host0.network'), networkFile(config, host))
  const machineId = join(upper, 'etc/machine-id')
  if (!existsSync(machineId) || readFileSync(machineId, 'utf8').trim() === '') writeFileAtomic(machineId, randomBytes(16).toString('hex') + '\n', 0o444)
  mkdirSync(join(upper, 'root/.ssh'), { recursive: true, mode: 0o700 })
  writeFileAtomic(join(upper, 'root/.ssh/authorized_keys'), readFileSync(`${config.keyFile}.pub`), 0o600)
  const key = join(upper, 'etc/ssh/ssh_host_ed25519_key')
  if (!existsSync(key) || !existsSync(`${key}.pub`)) {
    rmSync(key, { force: true })
    rmSync(`${key}.pub`, { force: true })
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${host.name}`, '-f', key])
  }
  for (const d of host.dataDirs) mkdirSync(dataDirOnMachine(config, host.name, d), { recursive: true })
  for (const d of host.sharedDirs) mkdirSync(sharedDirOnMachine(config, d), { recursive: true })
}

export function nspawnArgs(config: LabConfig, host: LabHost, image: ImageInfo): string[] {
  return [
    '--boot',
    // No systemd on this machine to register with or to make a scope for us.
    '--register=no',
    '--keep-unit',
    '--settings=no',
    `--directory=${image.root}`,
    overlayArg(config, image.root, host.name),
    `--machine=${machineName(config, host.name)}`,
    `--hostname=${host.name}`,
    `--network-bridge=${config.bridge}`,
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    // The boot log goes to console.log; nobody types at the console.
    '--console=read-only',
    // What dockerd needs inside a host. Not --bind=/sys/fs/cgroup: hosts get
    // their own cgroup2 tree instead (see cgroups.ts and spawnHost).
    '--capability=all',
    `--system-call-filter=${['@keyring', 'bpf', ...host.systemCalls].join(' ')}`,
    ...host.dataDirs.map((d) => `--bind=${dataDirOnMachine(config, host.name, d)}:${d}`),
    ...host.sharedDirs.map((d) => `--bind=${sharedDirOnMachine(config, d)}:${d.path}`),
  ]
}

/**
 * Start a host's nspawn detached from us (own session, output to its console
 * log), so the host outlives the lab command that started it.
 */
export function spawnHost(config: LabConfig, host: LabHost, image: ImageInfo): number {
  const log = consoleLog(config, host.name)
  mkdirSync(hostDir(config, host.name), { recursive: true })
  const fd = openSync(log, 'a')
  try {
    writeSync(fd, `\n=== berth lab: starting ${host.name} at ${new Date().toISOString()}\n`)
    // A shell moves itself into the host's cgroups, then becomes nspawn (see
    // cgroups.ts). SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 gives the host a pure
    // cgroup2 tree, writable and namespaced to its own subtree: its systemd
    // and dockerd (systemd cgroup driver) work there without seeing the
    // machine's or the other hosts' cgroups. The machine's cgroup2 has no
    // controllers, so no resource limits inside hosts (docker warns).
    const cgroups = prepareHostCgroups(config, host.name)
    const script = 'for d in $BERTH_LAB_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 125; done; exec systemd-nspawn "$@"'
    const child = spawn('sh', ['-c', script, 'sh', ...nspawnArgs(config, host, image)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, BERTH_LAB_CGROUPS: cgroups.join(' '), SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' },
    })
    child.on('error', () => {
      // reported by waitForSsh, which sees the process gone and shows the log
    })
    child.unref()
    if (child.pid === undefined) throw new LabError(`cannot start systemd-nspawn for ${host.name}`, { hint: `see ${log}` })
    return child.pid
  } finally {
    closeSync(fd)
  }
}

function tcpOpen(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port })
    const done = (ok: boolean): void => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/** The ssh client arguments that reach a lab host with strict host key checking. */
export function sshArgs(config: LabConfig, host: LabHost, extra: readonly string[] = []): string[] {
  return [
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${config.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    '-i',
    config.keyFile,
    ...extra,
    `root@${host.address}`,
  ]
}

/** Wait until a host answers a real SSH command; a clear error (with its boot log) if it does not. */
export async function waitForSsh(config: LabConfig, host: LabHost, nspawnPid: number, timeoutMs = 90_000): Promise<number> {
  const started = performance.now()
  const log = consoleLog(config, host.name)
  const logTail = (): string => {
    try {
      return tail(readFileSync(log, 'utf8'), 8)
    } catch {
      return '(no log)'
    }
  }
  for (;;) {
    if (!isAlive(nspawnPid))
      throw new LabError(`lab host ${host.name} stopped while booting; the end of its log ${log}:\n${logTail()}`)
    if (performance.now() - started > timeoutMs)
      throw new LabError(`lab host ${host.name} did not answer SSH on ${host.address}:22 within ${Math.round(timeoutMs / 1000)} s; the end of its log ${log}:\n${logTail()}`)
    if (await tcpOpen(host.address, 22, 500)) {
      // Booted means systemd finished its start-up jobs, not just that sshd listens:
      // a playbook run right after `up` must not race the boot.
      const r = await run('ssh', [...sshArgs(config, host, ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5']), 'timeout 20 systemctl is-system-running --wait'], {
        allowFail: true,
        timeoutMs: 30_000,
      })
      if (/^(running|degraded)\s*$/m.test(r.stdout)) return performance.now() - started
      // sshd may accept before it is ready to authenticate; a key mismatch, though, will not go away.
      if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(r.stderr))
        throw new LabError(`lab host ${host.name}: its SSH host key does not match ${config.knownHostsFile}: ${tail(r.stderr, 3)}`, {
          hint: 'another machine may hold this address; or reset the lab: npm run lab -- down',
        })
    }
    await sleep(150)
  }
}

/** Clean shutdown: SIGTERM makes nspawn ask the host's systemd to halt. */
export async function stopHost(proc: HostProcess, timeoutMs = 60_000): Promise<'stopped' | 'killed'> {
  signal(proc.nspawnPid, 'SIGTERM')
  if (await waitGone([proc.nspawnPid], timeoutMs)) return 'stopped'
  await killHost(proc)
  return 'killed'
}

/**
 * Power cut: SIGKILL the host's PID 1, which kills every process in its pid
 * namespace at once; its nspawn then reaps it and exits by itself (in about
 * 0.1 s), and is SIGKILLed only if it does not. Killing nspawn at once would
 * leave the host's PID 1 a zombie for the machine's PID 1 to reap, whenever
 * that comes to it.
 */
export async function killHost(proc: HostProcess, nspawnGraceMs = 5_000): Promise<void> {
  const pids = [proc.nspawnPid]
  if (proc.initPid !== undefined) {
    const ns = pidNamespace(proc.initPid)
    signal(proc.initPid, 'SIGKILL')
    if (ns) pids.push(...processesInNamespace(ns))
    await waitGone([proc.nspawnPid], nspawnGraceMs)
  }
  if (isAlive(proc.nspawnPid)) signal(proc.nspawnPid, 'SIGKILL')
  if (!(await waitGone(pids, 10_000))) throw new LabError(`lab host ${proc.host}: processes ${pids.filter(isAlive).join(', ')} survived SIGKILL`)
}

/** Memory of a host's own processes (PSS, so shared pages are not counted twice), in MB. */
export function hostMemoryMb(proc: HostProcess): number | undefined {
  if (proc.initPid === undefined) return undefined
  const ns = pidNamespace(proc.initPid)
  if (!ns) return undefined
  const kb = processesInNamespace(ns).reduce((sum, p) => sum + pssKb(p), 0)
  return Math.round(kb / 102.4) / 10
}

/** Run a command inside a host's namespaces from the machine: a console that works even when the host is partitioned. */
export function nsenterArgs(proc: HostProcess, argv: readonly string[]): string[] {
  if (proc.initPid === undefined) throw new LabError(`lab host ${proc.host} is still starting`)
  return ['--target', String(proc.initPid), '--all', '--', ...argv]
}

