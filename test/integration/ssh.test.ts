// SshConnection against a real OpenSSH sshd on 127.0.0.1 (test/support/sshd.ts).
import { test as uvuTest } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget, type SshTarget } from '../../src/connection/ssh-options.ts'
import { fingerprintSha256 } from '../../src/connection/known-hosts.ts'
import { HostKeyError, UnreachableError } from '../../src/errors.ts'
import { freePort, processesRunning, startSshd, type TestSshd } from '../support/sshd.ts'
import { needing } from '../support/needs.ts'

const test = needing('ssh-tests', uvuTest, 'ssh.test.ts')

let sshd: TestSshd
let work: string
const open: SshConnection[] = []

test.before(async () => {
  sshd = await startSshd()
  work = mkdtempSync(join(tmpdir(), 'berth-ssh-it-'))
})

test.after(async () => {
  for (const c of open) await c.close().catch(() => {})
  await sshd?.stop()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** A target for the test sshd; no ~/.ssh, no agent, no ssh config of the machine. */
function target(vars: Record<string, unknown> = {}, alias = 'lab1', server: TestSshd = sshd): SshTarget {
  return resolveSshTarget(
    alias,
    {
      ansible_host: '127.0.0.1',
      ansible_port: server.port,
      ansible_user: 'root',
      ansible_ssh_private_key_file: server.clientKey,
      berth_known_hosts_file: server.knownHosts,
      ...vars,
    },
    { sshConfigPath: join(work, 'no-config'), home: work, env: {} },
  )
}

function conn(t: SshTarget): SshConnection {
  const c = new SshConnection(t)
  open.push(c)
  return c
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

// No test here asserts how long something took (the figures are in `npm run
// bench:engine`). A bound on a wait only stops a hang, and says it hung.

/** `p`, or a rejection saying that `what` hung if it has not settled within `boundMs`. */
async function settles<T>(what: string, p: Promise<T>, boundMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: hung (still pending after ${boundMs / 1000} s)`)), boundMs)
  })
  try {
    return await Promise.race([p, hung])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `probe` until it holds; fail naming `what` if it still does not after `boundMs`. */
async function eventually(what: string, probe: () => boolean | Promise<boolean>, boundMs = 15_000): Promise<void> {
  const deadline = Date.now() + boundMs
  while (!(await probe())) {
    if (Date.now() > deadline) assert.unreachable(`${what}: still not so after ${boundMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 20))
  }
}


/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
}

/** A sleep argument no other process has: `30.123456` etc. */
const uniqueSeconds = (whole: number): string => `${whole}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`

const hostName = (): string => `[127.0.0.1]:${sshd.port}`
const hostKeyBlob = (): Buffer => Buffer.from(sshd.hostKeyPub.split(/\s+/)[1] ?? '', 'base64')

test('exec: stdout untrimmed, stderr, exit code; a non-zero exit resolves', async () => {
  const c = conn(target())
  assert.is(c.description, `ssh root@127.0.0.1:${sshd.port}`)
  await c.connect()
  const r = await c.exec('printf "  a\\n\\n"; echo oops >&2; exit 3')
  assert.equal({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 3, stdout: '  a\n\n', stderr: 'oops\n' })
  const ok = await c.exec('echo ünïcødé ✓')
  assert.is(ok.code, 0)
  assert.is(ok.stdout, 'ünïcødé ✓\n')
  // Execs one after another reuse the open connection (their round trip is in npm run bench:engine).
  for (let i = 0; i < 30; i++) assert.is((await c.exec('true')).code, 0)
  assert.is(c.stats.connects, 1)
  assert.is(c.stats.execs, 32)
})

test('commands run under sh -c: a hostile string comes back exactly', async () => {
  const c = conn(target())
  const r = await c.exec(`printf '%s' 'it'\\''s $(x) \`y\`'`)
  assert.is(r.stdout, "it's $(x) `y`")
  const r2 = await c.exec(`x='a b'; printf '[%s]' $x "$x"; printf '%s' "\\"\\\\"`)
  assert.is(r2.stdout, '[a][b][a b]"\\')
})

test('stdin is delivered; without stdin the command sees EOF', async () => {
  const c = conn(target())
  const r = await c.exec('wc -c; cat >/dev/null', { stdin: Buffer.alloc(300_000, 65) })
  assert.is(r.stdout.trim(), '300000')
  const r2 = await c.exec('cat', { stdin: 'line 1\nline 2\n' })
  assert.is(r2.stdout, 'line 1\nline 2\n')
  const r3 = await c.exec('cat; echo done', { timeoutMs: 5000 })
  assert.is(r3.stdout, 'done\n')
  assert.is(r3.timedOut, undefined)
  // A command that ignores a large stdin.
  const r4 = await c.exec('exit 0', { stdin: Buffer.alloc(2_000_000, 66) })
  assert.is(r4.code, 0)
})

test('timeout: resolves timedOut with code null; the command and its children are killed', async () => {
  const c = conn(target())
  const secs = uniqueSeconds(30) // a `sleep` argument to look for
  // A compound command: the sleep is a child of the shell, not the shell itself.
  // Without the timeout the call would take the sleep's 30 s; the bound is only a hang guard.
  const r = await settles('exec with timeoutMs 300 of a 30 s sleep', c.exec(`echo started; echo warn >&2; sleep ${secs}; echo never`, { timeoutMs: 300 }))
  assert.is(r.timedOut, true)
  assert.is(r.code, null)
  assert.is(r.stdout, 'started\n', 'it ran, and was stopped before its end')
  assert.is(r.stderr, 'warn\n', 'the pid marker line is not in stderr')
  // (through /proc on the host, so this holds where procps is not installed)
  const left = async () =>
    (await c.exec(`for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done | grep -c '^sleep ${secs}' || true`)).stdout.trim()
  await eventually(`the timed-out command's child (sleep ${secs}) is killed`, async () => (await left()) === '0')
  // A command with a timeout that finishes in time is unaffected, stdin included.
  const ok = await c.exec(`cat; printf '%s' 'it'\\''s' >&2`, { timeoutMs: 5000, stdin: 'in' })
  assert.equal([ok.code, ok.stdout, ok.stderr, ok.timedOut], [0, 'in', "it's", undefined])
})

test('50 concurrent execs share one connection, at most 10 channels open', async () => {
  const c = conn(target())
  // Each command logs its start and end on the server. It waits (a bounded while,
  // 5 s) until a second command has started: run one after another, the first one
  // would end alone, and the log would show no overlap.
  const log = join(work, 'concurrency.log')
  writeFileSync(log, '')
  const command = (i: number): string =>
    `echo start >> ${log}; n=0; while [ "$(grep -c start ${log})" -lt 2 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; ` +
    `echo ${i}; sleep 0.0$((${i} % 5)); echo end >> ${log}`
  const results = await settles('50 concurrent execs', Promise.all(Array.from({ length: 50 }, (_, i) => c.exec(command(i)))))
  results.forEach((r, i) => {
    assert.is(r.code, 0, `exec ${i}: ${r.stderr}`)
    assert.is(r.stdout, `${i}\n`)
  })
  assert.is(c.stats.connects, 1)
  assert.is(c.stats.execs, 50)
  assert.ok(c.stats.maxConcurrentChannels <= 10, `peak ${c.stats.maxConcurrentChannels} channels`)
  // What the server saw: how many of the commands ran at the same time.
  const events = readFileSync(log, 'utf8').split('\n').filter(Boolean)
  assert.is(events.length, 100, 'every command logged its start and its end')
  let running = 0
  let peak = 0
  for (const e of events) peak = Math.max(peak, (running += e === 'start' ? 1 : -1))
  assert.is(running, 0)
  assert.ok(peak >= 2, `the commands ran at the same time on the server (peak ${peak})`)
  assert.ok(peak <= 10, `at most 10 at once on the server (MaxSessions): peak ${peak}`)
})

test('connect is shared by concurrent callers', async () => {
  const c = conn(target())
  await Promise.all([c.connect(), c.connect(), c.exec('true'), c.connect()])
  assert.is(c.stats.connects, 1)
})

test('known_hosts mismatch: HostKeyError naming the file and line, the offered key and fingerprint', async () => {
  const other = join(work, 'other_host_key')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other], { stdio: 'ignore' })
  const [type, b64] = readFileSync(other + '.pub', 'utf8').trim().split(/\s+/)
  const kh = join(work, 'known_hosts_mismatch')
  writeFileSync(kh, `# lab hosts\nsomewhere-else ${type} ${b64}\n${hostName()} ${type} ${b64}\n`)
  const err = await rejection(conn(target({ berth_known_hosts_file: kh })).connect())
  assert.instance(err, HostKeyError)
  assert.ok(err.message.includes(`${kh}:3`), err.message)
  assert.ok(err.message.includes(`ssh-ed25519 ${fingerprintSha256(hostKeyBlob())}`), err.message)
  assert.ok((err as HostKeyError).hint?.includes(`ssh-keygen -R '${hostName()}' -f ${kh}`), (err as HostKeyError).hint)
})

test('a revoked host key is refused', async () => {
  const kh = join(work, 'known_hosts_revoked')
  const [type, b64] = sshd.hostKeyPub.split(/\s+/)
  writeFileSync(kh, `${hostName()} ${type} ${b64}\n@revoked * ${type} ${b64}\n`)
  const err = await rejection(conn(target({ berth_known_hosts_file: kh })).connect())
  assert.instance(err, HostKeyError)
  assert.match(err.message, /revoked/)
  assert.ok(err.message.includes(`${kh}:2`), err.message)
})

test('unknown host with strict checking is refused', async () => {
  const kh = join(work, 'known_hosts_empty')
  writeFileSync(kh, '# nothing yet\n')
  const err = await rejection(conn(target({ berth_known_hosts_file: kh })).connect())
  assert.instance(err, HostKeyError)
  assert.ok(err.message.includes(`no host key on record for ${hostName()} in ${kh}`), err.message)
  assert.match((err as HostKeyError).hint ?? '', /ssh-keyscan -p \d+ 127\.0\.0\.1.*accept-new/)
})

test('accept-new records the key (file 0600, dir 0700); then strict succeeds', async () => {
  const kh = join(work, 'fresh', 'known_hosts')
  const c = conn(target({ berth_known_hosts_file: kh, berth_host_key_checking: 'accept-new' }))
  await c.connect()
  assert.is((await c.exec('echo hi')).stdout, 'hi\n')
  const [type, b64] = sshd.hostKeyPub.split(/\s+/)
  assert.is(readFileSync(kh, 'utf8'), `${hostName()} ${type} ${b64}\n`)
  assert.is(statSync(kh).mode & 0o777, 0o600)
  assert.is(statSync(join(work, 'fresh')).mode & 0o777, 0o700)
  const again = conn(target({ berth_known_hosts_file: kh }))
  await again.connect()
  assert.is((await again.exec('echo again')).stdout, 'again\n')
  assert.is(readFileSync(kh, 'utf8').split('\n').length, 2, 'recorded once')
})

test('connection refused on a closed port: UnreachableError on the refusal, not after the connect timeout', async () => {
  const port = await freePort()
  // A connect timeout far beyond the hang guard: waiting for it instead of the refusal shows as a hang.
  const err = await settles('connect to a closed port', rejection(conn(target({ ansible_port: port, berth_connect_timeout: 120 })).connect()))
  assert.instance(err, UnreachableError)
  assert.not.instance(err, HostKeyError)
  assert.ok(err.message.includes(`connection refused on 127.0.0.1:${port}`), err.message)
  assert.is((err.cause as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED', 'the refusal itself, not a timeout')
})

test('a key the server does not accept: authentication failed, naming what was tried', async () => {
  const wrong = join(work, 'wrong_key')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong], { stdio: 'ignore' })
  const enc = join(work, 'encrypted_key')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-f', enc], { stdio: 'ignore' })
  const t = target()
  t.identityFiles = [enc, wrong, join(work, 'missing_key')]
  const err = await rejection(conn(t).connect())
  assert.instance(err, UnreachableError)
  assert.ok(err.message.includes(`authentication failed for root (tried: ${wrong}`), err.message)
  assert.ok(err.message.includes(`${enc} (encrypted`), err.message)
  assert.ok(err.message.includes(`${join(work, 'missing_key')} (no such file)`), err.message)
})

test('a port that accepts TCP but never speaks SSH: the client gives up by itself after berth_connect_timeout, and hangs up', async () => {
  // Accepts and says nothing; reads (and drops) what the client sends, so it sees
  // the client hang up; keeps each socket open until then.
  const accepted: Socket[] = []
  const closedByClient: Socket[] = []
  const silent: Server = createServer((s) => {
    accepted.push(s)
    s.on('error', () => {})
    s.on('close', () => closedByClient.push(s))
    s.resume()
  })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
  const addr = silent.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  try {
    // The default connect timeout (10 s) is beyond the hang guard: 0.5 s not applied shows as a hang.
    const err = await settles('connect to a port that never speaks SSH, berth_connect_timeout 0.5', rejection(conn(target({ ansible_port: port, berth_connect_timeout: 0.5 })).connect()), 8000)
    assert.instance(err, UnreachableError)
    assert.ok(err.message.includes(`timed out after 0.5 s connecting to 127.0.0.1:${port}`), err.message)
    assert.is(accepted.length, 1, 'the TCP connection was made: this is the handshake that timed out')
    await eventually('the client closes the socket it gave up on', () => closedByClient.length === 1)
  } finally {
    for (const s of accepted) s.destroy()
    silent.close()
  }
})

test('ssh-agent: a key held by the agent logs in; a dead agent socket is skipped with its reason', async () => {
  const sock = join(work, 'agent.sock')
  const out = execFileSync('ssh-agent', ['-s', '-a', sock]).toString()
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1])
  try {
    execFileSync('ssh-add', ['-q', sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' })
    const t = resolveSshTarget(
      'agent-only',
      { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: 'root', berth_known_hosts_file: sshd.knownHosts },
      { sshConfigPath: join(work, 'no-config'), home: work, env: { SSH_AUTH_SOCK: sock } },
    )
    assert.equal([t.useAgent, t.identityFiles], [true, []])
    assert.is((await conn(t).exec('echo agent')).stdout, 'agent\n')

    const dead = { ...target(), useAgent: true, agentSocket: join(work, 'no-agent.sock') }
    assert.is((await conn(dead).exec('echo key')).stdout, 'key\n', 'falls through to the key file')
    const err = await rejection(conn({ ...dead, identityFiles: [] }).connect())
    assert.match(err.message, /skipped: agent \(Failed to connect to agent\)/)
  } finally {
    if (pid) process.kill(pid)
  }
})

test('ProxyJump: through the same sshd as a bastion', async () => {
  const t = target({ berth_proxy_jump: `root@127.0.0.1:${sshd.port}` }, 'behind')
  assert.is(t.proxyJump?.identityFiles[0], sshd.clientKey)
  const c = conn(t)
  assert.is(c.description, `ssh root@127.0.0.1:${sshd.port} via 127.0.0.1`)
  await c.connect()
  const r = await c.exec('echo "$SSH_CLIENT"')
  assert.is(r.code, 0)
  assert.match(r.stdout, /^127\.0\.0\.1 \d+ \d+\n$/)
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => c.exec(`echo ${i}`)))
  assert.equal(
    all.map((x) => x.stdout),
    Array.from({ length: 12 }, (_, i) => `${i}\n`),
  )
  await c.close()
})

test('~/.ssh/config alias: HostName, Port, User, IdentityFile, UserKnownHostsFile', async () => {
  const cfg = join(work, 'ssh_config')
  writeFileSync(
    cfg,
    `Host labhost\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ${sshd.clientKey}\n  UserKnownHostsFile ${sshd.knownHosts}\n\nHost *\n  User nobody\n`,
  )
  const t = resolveSshTarget('labhost', {}, { sshConfigPath: cfg, home: work, env: {} })
  const c = conn(t)
  assert.is(c.description, `ssh root@127.0.0.1:${sshd.port}`)
  assert.is((await c.exec('id -un')).stdout, 'root\n')
})

test('a dropped connection is re-opened once by the next exec; then the host is unreachable', async () => {
  const server = await startSshd()
  try {
    // Keys and known_hosts outside the server's dir, which stop() removes.
    const key = join(work, 'flaky_key')
    const kh = join(work, 'flaky_known_hosts')
    copyFileSync(server.clientKey, key)
    copyFileSync(server.knownHosts, kh)
    const c = conn(target({ ansible_ssh_private_key_file: key, berth_known_hosts_file: kh }, 'flaky', server))
    assert.is((await c.exec('echo 1')).stdout, '1\n')
    // A command in flight when the connection drops rejects as unreachable.
    const secs = uniqueSeconds(20)
    const inFlight = rejection(c.exec(`sleep ${secs}`))
    await eventually(`the command (sleep ${secs}) runs on the server`, () => processesRunning(`sleep ${secs}`) > 0)
    assert.ok(server.dropConnections() > 0)
    const lost = await settles('the command in flight when the connection dropped', inFlight)
    assert.instance(lost, UnreachableError)
    assert.match(lost.message, /lost while a command ran/)
    assert.is((await c.exec('echo 2')).stdout, '2\n')
    assert.is(c.stats.connects, 2)
    // Now the server goes away for good.
    server.dropConnections()
    await server.stop()
    await eventually(`nothing listens on ${server.port} any more`, async () => !(await accepts(server.port)))
    const err = await settles('exec after the server went away', rejection(c.exec('echo 3')))
    assert.instance(err, UnreachableError)
    assert.match(err.message, /reconnecting failed: connection refused/, err.message)
    // The host is now unreachable for the run: the next exec rejects with the same
    // error and makes no new attempt. A listener on the old port counts attempts
    // (if another process took the port meanwhile, only the same error is checked).
    let attempts = 0
    const watcher = createServer((s) => (attempts++, s.destroy()))
    const watching = await new Promise<boolean>((resolve) => {
      watcher.once('error', () => resolve(false))
      watcher.listen(server.port, '127.0.0.1', () => resolve(true))
    })
    try {
      const again = await settles('exec on a host already unreachable', rejection(c.exec('echo 4')))
      assert.is(again, err, 'the same error, not a new attempt')
      if (watching) assert.is(attempts, 0, 'no connection attempt to the host')
      assert.is(c.stats.connects, 2)
    } finally {
      if (watching) await new Promise<void>((r) => watcher.close(() => r()))
    }
  } finally {
    await server.stop()
  }
})

test('a server with MaxSessions 3: opens refused beyond it are retried and the limit adapts', async () => {
  const server = await startSshd({ extraConfig: 'MaxSessions 3' })
  try {
    const c = conn(target({}, 'small', server))
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => c.exec(`echo ${i}; sleep 0.05`)))
    assert.ok(rs.every((r, i) => r.code === 0 && r.stdout === `${i}\n`))
    assert.is(c.stats.connects, 1)
    assert.ok(c.stats.channelRetries > 0)
    await c.close()
  } finally {
    await server.stop()
  }
})

test.run()
