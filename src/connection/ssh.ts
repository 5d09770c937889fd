// One pooled SSH connection per host (ssh2), reused by every exec of the run.
//
// - Transport: our own TCP socket with Nagle off (about 40 ms per exec otherwise),
//   or a channel forwarded through the jump host; keepalives every 15 s.
// - Host keys: checked against known_hosts as OpenSSH does, strict by default;
//   the offered host key algorithms are limited to the types on record.
// - Auth: ssh-agent, then each identity file in order. No passwords.
// - Exec: `sh -c '<command>'`, so the login shell only parses one quoted word
//   (login shells of the sh family: sh, dash, bash, ksh, zsh; not csh or fish).
//   At most maxSessions channels are open at once (sshd's MaxSessions); an open
//   the server refuses anyway is retried, and the limit lowered if it persists.
// - Timeouts: the command's process group is killed from a second channel (sshd
//   ignores the SSH "signal" request for root logins), then the exec resolves
//   { code: null, timedOut: true }.
// - A connection that drops is re-opened once by the next exec; if that
//   fails the host is unreachable for the rest of the run.
// `become` is not handled here: Host wraps the command line in sudo.
import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import ssh2 from 'ssh2'
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2'
import type { Connection, ExecOptions, ExecResult } from './connection.ts'
import { BerthError, HostKeyError, UnreachableError } from '../errors.ts'
import {
  appendKnownHost,
  checkHostKey,
  entriesFor,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostName,
  loadKnownHosts,
  type KnownHostEntry,
} from './known-hosts.ts'
import { Semaphore } from './semaphore.ts'
import type { SshTarget } from './ssh-options.ts'

const { Client, utils } = ssh2
type SshClient = InstanceType<typeof Client>

/** Quote one word for a POSIX shell: '…' with each ' written as '\''. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** The line sent to the server for a command: the login shell sees one quoted word. */
export function remoteCommandLine(command: string): string {
  return `sh -c ${shQuote(command)}`
}

/**
 * The same for a command with a timeout: the shell first writes its pid on a
 * marker line to stderr (taken off again before the caller sees stderr), then
 * execs `sh -c COMMAND` in place, so the command keeps that pid. On expiry that
 * pid's process group is killed from a second channel: sshd refuses the SSH
 * "signal" request for root logins ("session signalling requires privilege
 * separation"), and a command left running keeps its session (a MaxSessions
 * slot) until it ends.
 */
export function remoteCommandLineReportingPid(command: string): string {
  return `sh -c ${shQuote('echo "berth-pid $$" >&2; exec sh -c "$1"')} sh ${shQuote(command)}`
}
const PID_MARKER = /(^|\n)berth-pid (\d+)\n/

/**
 * Kill a command's process group (TERM first, which sudo relays, then KILL). The
 * group comes from /proc (Linux), else from ps; if neither tells, the pid alone.
 */
export function killCommandLine(pid: number): string {
  return (
    `g=; if [ -r /proc/${pid}/stat ]; then s=$(cat /proc/${pid}/stat) && s=\${s##*) } && set -- $s && g=$3; fi; ` +
    `[ -n "$g" ] || g=$(ps -o pgid= -p ${pid} 2>/dev/null | tr -d ' '); ` +
    `case "$g" in ''|*[!0-9]*) kill -s KILL ${pid} ;; *) kill -s TERM -- -"$g"; sleep 0.2; kill -s KILL -- -"$g" ;; esac 2>/dev/null; true`
  )
}

/** sshd's packets end at 256 KB (PACKET_MAX_SIZE), less the request's own framing. */
const MAX_EXEC_REQUEST = 256 * 1024 - 1024

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`
const CLOSE_GRACE_MS = 2000

interface AuthPlan {
  methods: { label: string; method: AnyAuthMethod }[]
  skipped: string[]
}

export class SshConnection implements Connection {
  readonly description: string
  readonly target: SshTarget
  /** Counters for tests and benchmarks. */
  readonly stats = { connects: 0, execs: 0, maxConcurrentChannels: 0, channelRetries: 0 }

  #client: SshClient | undefined
  #jump: SshConnection | undefined
  #connecting: Promise<void> | undefined
  /** Set when connecting failed: the host stays unreachable (no retry storms of 10 s timeouts). */
  #failure: Error | undefined
  /** The connection closed under us; the next connect is a reconnect. */
  #dropped = false
  readonly #channels: Semaphore

  constructor(target: SshTarget) {
    this.target = target
    const via: string[] = []
    for (let j = target.proxyJump; j; j = j.proxyJump) via.unshift(j.alias)
    this.description = `ssh ${target.user}@${target.hostname}:${target.port}${via.length ? ` via ${via.join(', ')}` : ''}`
    this.#channels = new Semaphore(target.maxSessions)
  }

  /** Open the connection (once; concurrent callers share the attempt). */
  connect(): Promise<void> {
    if (this.#client) return Promise.resolve()
    if (this.#connecting) return this.#connecting
    if (this.#failure) return Promise.reject(this.#failure)
    const reconnecting = this.#dropped
    const attempt = this.#open().then(
      () => {
        this.#dropped = false
        this.stats.connects++
      },
      (err: unknown) => {
        const e = reconnecting ? rewrap(err, this.target.alias, 'the connection was lost and reconnecting failed: ') : toError(err)
        this.#failure = e
        throw e
      },
    )
    this.#connecting = attempt.finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.stats.execs++
    const line = options.timeoutMs === undefined ? remoteCommandLine(command) : remoteCommandLineReportingPid(command)
    // sshd drops the whole connection over either (its request parser refuses a NUL,
    // its packets end at 256 KB): refuse here, so the host does not look unreachable.
    // Host sends long commands on stdin and refuses NUL bytes before they get here.
    if (command.includes('\0')) throw new BerthError(`${this.target.alias}: a command line cannot hold a NUL byte; it was not sent`)
    if (Buffer.byteLength(line) > MAX_EXEC_REQUEST)
      throw new BerthError(`${this.target.alias}: a command line of ${Buffer.byteLength(line)} bytes is longer than sshd takes in one request (${MAX_EXEC_REQUEST}); it was not sent`, {
        hint: 'send long scripts on standard input (Host does so by itself)',
      })
    if (!this.#client) await this.connect()
    return this.#openChannel(line, (client, channel, release) => this.#run(client, channel, command, options, release))
  }

  /** Open a TCP connection from the remote host to host:port (for hosts that jump through this one). */
  async forwardOut(host: string, port: number): Promise<Duplex> {
    if (!this.#client) await this.connect()
    const client = this.#client
    if (!client) throw new UnreachableError(this.target.alias, 'not connected')
    return new Promise<Duplex>((resolve, reject) => {
      try {
        client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)))
      } catch (err) {
        reject(toError(err))
      }
    })
  }

  async close(): Promise<void> {
    if (this.#connecting) await this.#connecting.catch(() => {})
    const client = this.#client
    this.#client = undefined
    if (client)
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          client.destroy()
          resolve()
        }, CLOSE_GRACE_MS)
        client.once('close', () => {
          clearTimeout(t)
          resolve()
        })
        client.end()
      })
    if (this.#jump) await this.#jump.close()
    this.#failure = undefined
    this.#dropped = false
  }

  // ---- exec ----

  async #acquire(): Promise<() => void> {
    const release = await this.#channels.acquire()
    this.stats.maxConcurrentChannels = Math.max(this.stats.maxConcurrentChannels, this.#channels.peak)
    return release
  }

  /**
   * Open an exec channel holding a permit and hand it to `run`, synchronously in
   * ssh2's callback: the command's output and exit status may arrive in the same
   * read as the reply to the exec request. The permit goes back when the channel closes.
   */
  async #openChannel(
    line: string,
    run: (client: SshClient, channel: ClientChannel, release: () => void) => Promise<ExecResult>,
  ): Promise<ExecResult> {
    let release = await this.#acquire()
    let reconnected = false
    let refused = 0
    let started: { result: Promise<ExecResult> } | undefined
    try {
      while (!started) {
        // The connection may have dropped while this exec waited for a permit.
        if (!this.#client) await this.connect()
        const client = this.#client
        if (!client) throw new UnreachableError(this.target.alias, 'not connected')
        try {
          const permit = release
          started = await new Promise<{ result: Promise<ExecResult> }>((resolve, reject) => {
            try {
              client.exec(line, (err, ch) => (err ? reject(err) : resolve({ result: run(client, ch, permit) })))
            } catch (err) {
              reject(toError(err)) // 'Not connected': the socket is already gone
            }
          })
        } catch (err) {
          if (this.#client !== client || isDeadConnection(err)) {
            // The connection died between two execs: reconnect (once) and try again.
            this.#markDropped(client)
            if (reconnected) throw rewrap(err, this.target.alias, 'cannot open a session: ')
            reconnected = true
            continue
          }
          // The server refused the channel. sshd frees a session one turn of its
          // event loop after our CLOSE, so an OPEN right behind a CLOSE is refused
          // now and then: retry at once. If it keeps refusing while other channels
          // are open, its MaxSessions is lower than ours: use fewer, and wait for
          // one of ours to close.
          this.stats.channelRetries++
          refused++
          if (refused <= 6) {
            await new Promise((r) => (refused <= 2 ? setImmediate(r) : setTimeout(r, 2 * refused)))
            continue
          }
          if (this.#channels.active > 1) {
            this.#channels.setLimit(Math.max(1, this.#channels.active - 1))
            release()
            release = await this.#acquire()
            refused = 0
            continue
          }
          if (refused >= 12)
            throw new UnreachableError(this.target.alias, `the server refuses to open a session: ${toError(err).message}`, {
              hint: 'check MaxSessions (and any Match blocks) in its sshd_config',
              cause: err,
            })
          await new Promise((r) => setTimeout(r, 10 * refused))
        }
      }
    } catch (err) {
      release()
      throw err
    }
    // From here the channel owns the permit; a failure while the command runs is
    // reported as it is, never retried (the command may have had effects).
    return started.result
  }

  #run(client: SshClient, ch: ClientChannel, command: string, options: ExecOptions, release: () => void): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      let code: number | null = null
      let signal: string | undefined
      let exited = false
      let timedOut = false
      let done = false
      let timer: NodeJS.Timeout | undefined
      // With a timeout, a marker line on stderr carries the remote shell's pid.
      let pid: number | undefined
      let pidLine: Buffer | undefined = options.timeoutMs === undefined ? undefined : Buffer.alloc(0)
      const result = (): ExecResult => ({
        code: timedOut ? null : code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(timedOut ? { timedOut: true } : {}),
      })
      const finish = (): void => {
        if (done) return
        done = true
        if (timer) clearTimeout(timer)
        resolve(result())
      }
      ch.on('data', (b: Buffer) => out.push(b))
      ch.stderr.on('data', (b: Buffer) => {
        if (pidLine === undefined) return void err.push(b)
        // Only a login shell's rc file can write before the marker line; keep what it wrote.
        pidLine = Buffer.concat([pidLine, b])
        const m = PID_MARKER.exec(pidLine.toString('latin1'))
        if (!m && pidLine.length < 8192) return
        if (m) {
          pid = Number(m[2])
          err.push(pidLine.subarray(0, m.index + (m[1] ?? '').length), pidLine.subarray(m.index + m[0].length))
        } else err.push(pidLine)
        pidLine = undefined
      })
      ch.on('exit', (c: number | null, sig?: string) => {
        exited = true
        if (typeof c === 'number') code = c
        else if (sig) signal = sig.startsWith('SIG') ? sig : `SIG${sig}`
      })
      ch.on('error', () => {}) // e.g. writing stdin to a command that already exited
      ch.on('close', () => {
        release()
        if (pidLine !== undefined) err.push(pidLine)
        pidLine = undefined
        if (done) return
        if (!exited && !timedOut && this.#client !== client) {
          done = true
          if (timer) clearTimeout(timer)
          reject(
            new UnreachableError(this.target.alias, `the connection to ${this.target.hostname}:${this.target.port} was lost while a command ran: ${command.slice(0, 200)}`, {
              hint: 'the command may or may not have completed on the host',
            }),
          )
          return
        }
        finish()
      })
      if (options.timeoutMs !== undefined)
        timer = setTimeout(() => {
          timedOut = true
          sendSignal(ch, 'KILL')
          // Kill it from a second channel; the channel then closes by itself as the
          // command dies. Without a pid (the shell had not even started) just close.
          if (pid !== undefined) this.exec(killCommandLine(pid)).catch(() => {})
          else ch.close()
          // Answer within a bound in any case; the permit goes back when the channel closes.
          timer = setTimeout(() => {
            ch.close()
            finish()
          }, CLOSE_GRACE_MS)
        }, options.timeoutMs)
      // Always end stdin, so a command that reads it sees EOF.
      ch.end(options.stdin ?? '')
    })
  }

  #markDropped(client: SshClient): void {
    if (this.#client !== client) return
    this.#client = undefined
    this.#dropped = true
  }

  // ---- connect ----

  async #open(): Promise<void> {
    const t = this.target
    const auth = planAuth(t)
    if (auth.methods.length === 0)
      throw new UnreachableError(t.alias, `no key to authenticate ${t.user} with (no ssh-agent${auth.skipped.length ? `; skipped: ${auth.skipped.join('; ')}` : ', no identity file'})`, {
        hint: 'set ansible_ssh_private_key_file, add an IdentityFile to ~/.ssh/config, or start ssh-agent (SSH_AUTH_SOCK)',
      })

    let known: KnownHostEntry[]
    try {
      known = loadKnownHosts([...t.knownHostsFiles, ...t.globalKnownHostsFiles])
    } catch (err) {
      throw new HostKeyError(t.alias, `cannot read known_hosts: ${toError(err).message}`, { cause: err })
    }

    let sock: Duplex
    if (t.proxyJump) {
      this.#jump ??= new SshConnection(t.proxyJump)
      try {
        await this.#jump.connect()
      } catch (err) {
        throw rewrap(err, t.alias, `through jump host ${t.proxyJump.alias}: `)
      }
      const forwarded = this.#jump.forwardOut(t.hostname, t.port)
      try {
        sock = await withTimeout(forwarded, t.connectTimeoutMs, `timed out after ${seconds(t.connectTimeoutMs)}`)
      } catch (err) {
        forwarded.then((s) => s.destroy(), () => {}) // if it opens after all
        throw new UnreachableError(t.alias, `jump host ${t.proxyJump.alias} could not open a connection to ${t.hostname}:${t.port}: ${toError(err).message}`, {
          hint: `check that ${t.proxyJump.alias} can reach ${t.hostname}:${t.port} and that its sshd allows TCP forwarding (AllowTcpForwarding)`,
          cause: err,
        })
      }
    } else sock = await tcpConnect(t)

    await this.#handshake(sock, known, auth)
  }

  #handshake(sock: Duplex, known: KnownHostEntry[], auth: AuthPlan): Promise<void> {
    const t = this.target
    const where = `${t.hostname}:${t.port}`
    const name = knownHostName(t.hostname, t.port)
    const recorded = entriesFor(known, name)
    const algorithms = hostKeyAlgorithmsFor(recorded)
    const writeFile = t.knownHostsFiles[0]
    let hostKeyError: HostKeyError | undefined
    let toRecord: Buffer | undefined

    const hostVerifier = (key: Buffer): boolean => {
      const offeredType = keyTypeOfBlob(key) ?? 'unknown'
      const fp = fingerprintSha256(key)
      const v = checkHostKey(known, name, key)
      switch (v.status) {
        case 'match':
          return true
        case 'revoked':
          hostKeyError = new HostKeyError(t.alias, `the host key ${offeredType} ${fp} offered by ${name} is marked @revoked in ${v.entry.file}:${v.entry.line}`, {
            hint: 'a revoked key is never accepted: the host must get a new key (and that key recorded) before berth connects',
          })
          return false
        case 'mismatch': {
          // The recorded key of the offered type if there is one (there is, unless the
          // server picked a type ssh2 cannot restrict to), else the first on record.
          const e = v.recorded.find((r) => r.keyType === offeredType) ?? v.recorded[0]
          const at = e ? `${e.file}:${e.line}` : (writeFile ?? 'known_hosts')
          const file = e?.file ?? writeFile ?? 'known_hosts'
          hostKeyError = new HostKeyError(t.alias, `host key mismatch for ${name}: the server offered ${offeredType} ${fp}, but ${at} records a different ${e?.keyType ?? 'host'} key`, {
            hint:
              `someone may be intercepting the connection, or the host was rebuilt; ` +
              `if the host was rebuilt on purpose: ssh-keygen -R '${name}' -f ${file} (then record the new key with ssh-keyscan or berth_host_key_checking=accept-new)`,
          })
          return false
        }
        case 'unknown':
          if (t.hostKeyPolicy === 'accept-new' && writeFile) {
            toRecord = key
            return true
          }
          hostKeyError = new HostKeyError(t.alias, `no host key on record for ${name} in ${t.knownHostsFiles.join(', ')} (the server offered ${offeredType} ${fp})`, {
            hint:
              `record it after checking the fingerprint on the host's console: ssh-keyscan ${t.port === 22 ? '' : `-p ${t.port} `}${t.hostname} >> ${writeFile ?? '~/.ssh/known_hosts'}; ` +
              `or set berth_host_key_checking=accept-new to record keys of hosts seen for the first time`,
          })
          return false
      }
    }

    const config: ConnectConfig = {
      sock,
      username: t.user,
      hostVerifier,
      // ssh2 takes the handler's return value as the next method to try; false ends it.
      authHandler: (() => {
        let i = 0
        return (): AnyAuthMethod | false => {
          const m = auth.methods[i++]
          if (!m) return false
          tried.push(m.label)
          return m.method
        }
      })(),
      readyTimeout: t.connectTimeoutMs,
      keepaliveInterval: t.keepaliveIntervalMs,
      ...(algorithms.length ? { algorithms: { serverHostKey: algorithms as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } } : {}),
    }
    const tried: string[] = []

    return new Promise<void>((resolve, reject) => {
      const client = new Client()
      let settled = false
      const fail = (e: Error): void => {
        if (settled) return
        settled = true
        client.destroy()
        sock.destroy()
        reject(e)
      }
      client.on('error', (err: Error & { level?: string }) => {
        if (settled) return // after ready: 'close' follows and marks the connection dropped
        if (hostKeyError) return fail(hostKeyError)
        const level = err.level
        // ssh2 reports a method that could not even be tried (no agent at the
        // socket, a key that cannot sign) as an error, then goes on to the next one.
        if (level === 'agent' || (level === 'client-authentication' && err.message !== 'All configured authentication methods failed')) {
          auth.skipped.push(`${tried.pop() ?? 'a method'} (${err.message})`)
          return
        }
        if (level === 'client-authentication') {
          const skipped = auth.skipped.length ? `; skipped: ${auth.skipped.join('; ')}` : ''
          return fail(
            new UnreachableError(t.alias, `authentication failed for ${t.user} (tried: ${tried.join(', ') || 'nothing'}${skipped})`, {
              hint: `the server accepts none of these keys for ${t.user}: add the public key to ~${t.user}/.ssh/authorized_keys on ${t.hostname}, or set ansible_ssh_private_key_file to the right key`,
              cause: err,
            }),
          )
        }
        if (level === 'client-timeout')
          return fail(
            new UnreachableError(t.alias, `timed out after ${seconds(t.connectTimeoutMs)} connecting to ${where} (no SSH handshake)`, {
              hint: 'the port answers but no SSH server completed the handshake in time; raise berth_connect_timeout for slow links',
              cause: err,
            }),
          )
        if (/no matching host key format/.test(err.message) && algorithms.length)
          return fail(
            new HostKeyError(
              t.alias,
              `${where} offers no host key of the type on record for ${name} (${[...new Set(recorded.map((r) => `${r.keyType} in ${r.file}:${r.line}`))].join(', ')})`,
              { hint: `if the host was rebuilt on purpose: ssh-keygen -R '${name}' -f ${recorded[0]?.file ?? writeFile}, then record its new key`, cause: err },
            ),
          )
        fail(new UnreachableError(t.alias, `SSH handshake with ${where} failed: ${err.message}`, { cause: err }))
      })
      client.on('handshake', () => {
        if (!toRecord || !writeFile) return
        const key = toRecord
        toRecord = undefined
        try {
          const line = appendKnownHost(writeFile, name, key)
          known.push({ file: writeFile, line, hosts: name, keyType: keyTypeOfBlob(key) ?? '', key })
        } catch (err) {
          fail(new HostKeyError(t.alias, `cannot record the host key of ${name} in ${writeFile}: ${toError(err).message}`, { cause: err }))
        }
      })
      client.on('ready', () => {
        if (settled) return
        settled = true
        this.#client = client
        resolve()
      })
      client.on('close', () => {
        if (!settled) {
          if (hostKeyError) return fail(hostKeyError)
          return fail(new UnreachableError(t.alias, `${where} closed the connection during the SSH handshake`))
        }
        this.#markDropped(client)
      })
      try {
        client.connect(config)
      } catch (err) {
        fail(toError(err))
      }
    })
  }
}

/** ssh-agent first, then each identity file that can be read and is not encrypted. */
function planAuth(t: SshTarget): AuthPlan {
  const methods: AuthPlan['methods'] = []
  const skipped: string[] = []
  if (t.useAgent && t.agentSocket) methods.push({ label: 'agent', method: { type: 'agent', username: t.user, agent: t.agentSocket } })
  for (const file of t.identityFiles) {
    let data: Buffer
    try {
      data = readFileSync(file)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      skipped.push(`${file} (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : toError(err).message})`)
      continue
    }
    const parsed = utils.parseKey(data)
    if (parsed instanceof Error) {
      skipped.push(`${file} (${/encrypt|passphrase/i.test(parsed.message) ? 'encrypted: load it into ssh-agent' : parsed.message})`)
      continue
    }
    const key: ParsedKey | undefined = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed
    if (!key || !key.isPrivateKey()) {
      skipped.push(`${file} (not a private key)`)
      continue
    }
    methods.push({ label: file, method: { type: 'publickey', username: t.user, key } })
  }
  return { methods, skipped }
}

/** A TCP connection with Nagle off, or a specific UnreachableError. */
function tcpConnect(t: SshTarget): Promise<Socket> {
  const where = `${t.hostname}:${t.port}`
  return new Promise<Socket>((resolve, reject) => {
    const sock = netConnect({ host: t.hostname, port: t.port, noDelay: true })
    const timer = setTimeout(() => {
      sock.destroy()
      reject(
        new UnreachableError(t.alias, `timed out after ${seconds(t.connectTimeoutMs)} connecting to ${where}`, {
          hint: 'check the address (ansible_host), that the host is up, and firewalls; raise berth_connect_timeout for slow links',
        }),
      )
    }, t.connectTimeoutMs)
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer)
      sock.destroy()
      reject(socketError(t, err))
    }
    sock.once('error', onError)
    sock.once('connect', () => {
      clearTimeout(timer)
      sock.removeListener('error', onError)
      sock.setNoDelay(true)
      resolve(sock)
    })
  })
}

function socketError(t: SshTarget, err: NodeJS.ErrnoException): UnreachableError {
  const where = `${t.hostname}:${t.port}`
  switch (err.code) {
    case 'ECONNREFUSED':
      return new UnreachableError(t.alias, `connection refused on ${where}`, {
        hint: `is sshd running on ${t.hostname} and listening on port ${t.port}? (ansible_port, or Port in ~/.ssh/config)`,
        cause: err,
      })
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new UnreachableError(t.alias, `cannot resolve host name '${t.hostname}'`, {
        hint: 'set ansible_host to its address, or fix DNS or HostName in ~/.ssh/config',
        cause: err,
      })
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new UnreachableError(t.alias, `no route to ${where}`, { hint: 'check the address (ansible_host) and the network', cause: err })
    case 'ETIMEDOUT':
      return new UnreachableError(t.alias, `timed out after ${seconds(t.connectTimeoutMs)} connecting to ${where}`, { cause: err })
    default:
      return new UnreachableError(t.alias, `cannot connect to ${where}: ${err.message}`, { cause: err })
  }
}

/**
 * Ask sshd to signal the command (it kills the session's process group, so a
 * compound command dies with its children). ssh2's Channel.signal() sends
 * nothing once stdin has been ended (it checks `writable`), and we always end
 * stdin; so the request goes through the channel's protocol object when that
 * has the expected shape, else through signal() (a no-op then; closing the
 * channel remains).
 */
function sendSignal(ch: ClientChannel, name: string): void {
  const inner = ch as unknown as { _client?: { _protocol?: { signal?: unknown } }; outgoing?: { id?: unknown; state?: unknown } }
  const proto = inner._client?._protocol
  const id = inner.outgoing?.id
  try {
    if (proto && typeof proto.signal === 'function' && typeof id === 'number' && (inner.outgoing?.state === 'open' || inner.outgoing?.state === 'eof'))
      (proto.signal as (id: number, name: string) => void).call(proto, id, name)
    else ch.signal(name)
  } catch {
    // the channel is already closing
  }
}

/** ssh2's errors for a channel asked of a connection that is gone. */
function isDeadConnection(err: unknown): boolean {
  return err instanceof Error && /^Not connected$|No response from server/.test(err.message)
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** The same kind of error (host key or unreachable) for `alias`, its reason prefixed. */
function rewrap(err: unknown, alias: string, prefix: string): UnreachableError {
  const e = toError(err)
  const reason = e instanceof UnreachableError ? e.message.replace(/^.*?: unreachable: /, '') : e.message
  const opts = { cause: err, ...(e instanceof UnreachableError && e.hint ? { hint: e.hint } : {}) }
  return e instanceof HostKeyError ? new HostKeyError(alias, prefix + reason, opts) : new UnreachableError(alias, prefix + reason, opts)
}
