// A private OpenSSH sshd for integration tests: fresh host and client keys in a
// temp dir, listening on 127.0.0.1 on a free port, root login by key only.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestSshd {
  port: number
  dir: string
  /** Private key path of a client key that may log in as root. */
  clientKey: string
  /** A known_hosts file holding this server's key, as `[127.0.0.1]:PORT ssh-ed25519 AAAA…`. */
  knownHosts: string
  /** The server's public host key line (`ssh-ed25519 AAAA… comment`). */
  hostKeyPub: string
  /** What sshd wrote to stderr so far (its log, at LogLevel ERROR unless extraConfig says otherwise). */
  log(): string
  /** The listening sshd's process id. */
  pid: number
  /** Kill (SIGKILL, by pid) every per-connection sshd and its commands: clients see their connection drop. */
  dropConnections(): number
  stop(): Promise<void>
}

const SSHD = '/usr/sbin/sshd'
const running = new Set<ChildProcess>()
let exitHookInstalled = false

/** A port that was free a moment ago (bind 127.0.0.1:0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test', '-f', path], { stdio: 'ignore' })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** Every descendant of `pid`, found through /proc/<pid>/stat. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parent.set(Number(name), ppid)
    } catch {
      // the process is gone
    }
  }
  const out: number[] = []
  const walk = (p: number): void => {
    for (const [child, pp] of parent) if (pp === p) out.push(child), walk(child)
  }
  walk(pid)
  return out
}

/** SIGKILL every descendant of `pid` (the per-connection sshd processes and their commands). */
function killDescendants(pid: number | undefined): number {
  const pids = pid ? descendants(pid) : []
  for (const p of pids)
    try {
      process.kill(p, 'SIGKILL')
    } catch {
      // already gone
    }
  return pids.length
}

export interface SshdOptions {
  /** sshd_config lines (no Match blocks); they come first, so they win over the harness's own (sshd keeps the first value). */
  extraConfig?: string
  /** Keep root's real HOME (and its rc files) in sessions; by default root's sessions get an empty HOME of their own. */
  realHome?: boolean
}

/** Start sshd -D on `port`; resolve once it accepts TCP connections, reject with its stderr if it dies first. */
async function launch(
  dir: string,
  port: number,
  home: string,
  hostKey: string,
  opts: SshdOptions,
): Promise<{ child: ChildProcess; port: number; stderr: () => string; exited: () => unknown }> {
  // sshd_config keeps the first value it reads for a keyword, so extra config goes first.
  const config = [
    opts.extraConfig ?? '',
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `PidFile ${join(dir, 'sshd.pid')}`,
    'LogLevel ERROR',
    'MaxSessions 10',
    // The machine's own root has a heavy ~/.bashrc (pyenv init: about 150 ms per
    // exec, and sshd's bash reads it even for `bash -c`); lab hosts keep stock rc
    // files, so root's sessions here get a HOME of their own with empty rc files.
    ...(opts.realHome ? [] : ['Match User root', `  SetEnv HOME=${home}`]),
    '',
  ].join('\n')
  const configPath = join(dir, 'sshd_config')
  writeFileSync(configPath, config)

  const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const c of running) {
        killDescendants(c.pid)
        c.kill('SIGKILL')
      }
    })
  }
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()))
  let exited: number | string | null | undefined
  // A missing or unrunnable sshd is an 'error' event, not an exit: turn it into this function's error.
  child.on('error', (e) => {
    exited = `could not start ${SSHD}: ${e.message}`
    running.delete(child)
  })
  child.on('exit', (code, signal) => {
    exited = code ?? signal
    running.delete(child)
  })

  const deadline = Date.now() + 5000
  for (;;) {
    if (typeof exited === 'string' && exited.startsWith('could not start')) throw new Error(`${exited} (Debian: apt-get install openssh-server)`)
    if (exited !== undefined) throw new Error(`sshd exited (${exited}) before listening on ${port}:\n${stderr}`)
    if (await canConnect(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      running.delete(child)
      throw new Error(`sshd did not listen on 127.0.0.1:${port} within 5 s:\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return { child, port, stderr: () => stderr, exited: () => exited }
}

export async function startSshd(opts: SshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sshd-'))
  const home = join(dir, 'home')
  mkdirSync(home, { mode: 0o700 })
  writeFileSync(join(home, '.bashrc'), '')
  writeFileSync(join(home, '.profile'), '')
  const hostKey = join(dir, 'ssh_host_ed25519_key')
  const clientKey = join(dir, 'client_ed25519')
  keygen(hostKey)
  keygen(clientKey)
  // sshd reads authorized_keys as the user logging in: let non-root test users read it.
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(clientKey + '.pub'), { mode: 0o644 })
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }) // privilege separation dir

  // Another process may take the free port before sshd binds it: try a few ports.
  let started: { child: ChildProcess; port: number; stderr: () => string; exited: () => unknown } | undefined
  for (let attempt = 1; !started; attempt++) {
    const port = await freePort()
    try {
      started = await launch(dir, port, home, hostKey, opts)
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test((err as Error).message)) {
        rmSync(dir, { recursive: true, force: true })
        throw err
      }
    }
  }
  const { child, port } = started
  const exited = started.exited

  const hostKeyPub = readFileSync(hostKey + '.pub', 'utf8').trim()
  const [type, b64] = hostKeyPub.split(/\s+/)
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${type} ${b64}\n`, { mode: 0o600 })

  return {
    port,
    dir,
    clientKey,
    knownHosts,
    hostKeyPub,
    log: started.stderr,
    pid: child.pid ?? 0,
    dropConnections: () => killDescendants(child.pid),
    stop: async () => {
      if (exited() === undefined) {
        killDescendants(child.pid)
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))])
        if (exited() === undefined) child.kill('SIGKILL')
      }
      running.delete(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** How many processes on this machine have a command line starting with `prefix` (the test sshd is local, so its commands count). */
export function processesRunning(prefix: string): number {
  let n = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').startsWith(prefix)) n++
    } catch {
      // gone meanwhile
    }
  }
  return n
}
