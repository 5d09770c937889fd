import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { parseJumpSpec, resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { ConfigError } from '../../src/errors.ts'

const home = mkdtempSync(join(tmpdir(), 'berth-sshopt-'))
test.after(() => rmSync(home, { recursive: true, force: true }))
mkdirSync(join(home, '.ssh'), { mode: 0o700 })

const cfgPath = join(home, 'ssh_config')
writeFileSync(
  cfgPath,
  `# test config
Host labhost
  HostName 10.9.8.7
  User deploy
  Port 2200
  IdentityFile ~/.ssh/lab_key
  IdentityFile %d/.ssh/lab_key_%r
  ProxyJump ops@bastion:2201
  ConnectTimeout 3

Host bastion
  HostName 192.0.2.1
  IdentityFile ~/.ssh/bastion_key
  StrictHostKeyChecking accept-new

Host chained
  HostName 10.0.0.9
  ProxyJump hop1,hop2:2022

Host hop2
  HostName 10.0.0.2
  ProxyJump should-be-ignored-in-a-chain

Host loop-a
  ProxyJump loop-b
Host loop-b
  ProxyJump loop-a

Host insecure
  StrictHostKeyChecking no

Host files
  UserKnownHostsFile ~/.ssh/kh1 /etc/berth/kh2

Host *
  User everyone
  Port 2999
  HostName wildcard.example
  IdentityFile ~/.ssh/catchall
`,
)

const opts = { sshConfigPath: cfgPath, home, env: {} }

test('an alias from ssh config: HostName, User, Port, IdentityFile(s) in order, ProxyJump, ConnectTimeout', () => {
  const t = resolveSshTarget('labhost', {}, opts)
  assert.is(t.alias, 'labhost')
  assert.is(t.hostname, '10.9.8.7')
  assert.is(t.user, 'deploy', 'first obtained value wins over Host *')
  assert.is(t.port, 2200)
  assert.equal(t.identityFiles, [join(home, '.ssh/lab_key'), join(home, '.ssh/lab_key_deploy'), join(home, '.ssh/catchall')])
  assert.is(t.connectTimeoutMs, 3000)
  assert.is(t.maxSessions, 10)
  assert.is(t.keepaliveIntervalMs, 15000)
  assert.is(t.useAgent, false)
  assert.equal(t.knownHostsFiles, [join(home, '.ssh/known_hosts')])
  assert.is(t.hostKeyPolicy, 'strict')
  const j = t.proxyJump
  assert.ok(j)
  assert.is(j?.alias, 'bastion')
  assert.is(j?.hostname, '192.0.2.1')
  assert.is(j?.user, 'ops', 'user@ in the jump spec')
  assert.is(j?.port, 2201, ':port in the jump spec')
  assert.is(j?.hostKeyPolicy, 'accept-new', "the hop's own config applies to it")
  assert.equal(j?.identityFiles, [join(home, '.ssh/bastion_key'), join(home, '.ssh/catchall')])
  assert.is(j?.proxyJump, undefined)
})

test('Host * fills in what nothing before it set', () => {
  const t = resolveSshTarget('other', {}, opts)
  assert.is(t.hostname, 'wildcard.example')
  assert.is(t.user, 'everyone')
  assert.is(t.port, 2999)
})

test('inventory vars override ssh config', () => {
  const t = resolveSshTarget(
    'labhost',
    {
      ansible_host: '127.0.0.1',
      ansible_port: '2222',
      ansible_user: 'root',
      ansible_ssh_private_key_file: '~/.ssh/mine',
      berth_known_hosts_file: ['~/kh', '/tmp/kh2'],
      berth_host_key_checking: 'accept-new',
      berth_proxy_jump: 'none',
      berth_connect_timeout: 2.5,
      berth_ssh_max_sessions: 4,
      ansible_ssh_common_args: '-o ProxyCommand=evil', // ignored by design
    },
    opts,
  )
  assert.is(t.hostname, '127.0.0.1')
  assert.is(t.port, 2222)
  assert.is(t.user, 'root')
  assert.equal(t.identityFiles, [join(home, '.ssh/mine')])
  assert.equal(t.knownHostsFiles, [join(home, 'kh'), '/tmp/kh2'])
  assert.equal(t.globalKnownHostsFiles, [])
  assert.is(t.hostKeyPolicy, 'accept-new')
  assert.is(t.proxyJump, undefined)
  assert.is(t.connectTimeoutMs, 2500)
  assert.is(t.maxSessions, 4)
})

test('defaults without any config: alias, 22, current user, existing default keys, agent from SSH_AUTH_SOCK', () => {
  const h2 = mkdtempSync(join(tmpdir(), 'berth-sshopt-home-'))
  try {
    mkdirSync(join(h2, '.ssh'))
    writeFileSync(join(h2, '.ssh', 'id_rsa'), 'x')
    writeFileSync(join(h2, '.ssh', 'id_ed25519'), 'x')
    const t = resolveSshTarget('web1', {}, { home: h2, env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } })
    assert.is(t.hostname, 'web1')
    assert.is(t.port, 22)
    assert.is(t.user, userInfo().username)
    assert.equal(t.identityFiles, [join(h2, '.ssh/id_ed25519'), join(h2, '.ssh/id_rsa')])
    assert.is(t.useAgent, true)
    assert.is(t.agentSocket, '/tmp/agent.sock')
    assert.equal(t.knownHostsFiles, [join(h2, '.ssh/known_hosts')])
    assert.is(t.connectTimeoutMs, 10000)
  } finally {
    rmSync(h2, { recursive: true, force: true })
  }
})

test('berth_proxy_jump: user@host:port, a config alias, and chains (each hop through the previous one)', () => {
  const t = resolveSshTarget('web1', { ansible_host: '10.1.1.1', berth_proxy_jump: 'admin@gw.example:2022' }, opts)
  assert.is(t.proxyJump?.hostname, 'wildcard.example', 'gw.example is looked up as an alias too (Host * gives it a HostName)')
  assert.is(t.proxyJump?.user, 'admin')
  assert.is(t.proxyJump?.port, 2022)

  const viaAlias = resolveSshTarget('web1', { berth_proxy_jump: 'bastion' }, opts)
  assert.is(viaAlias.proxyJump?.hostname, '192.0.2.1')
  assert.is(viaAlias.proxyJump?.user, 'everyone')

  const c = resolveSshTarget('chained', {}, opts)
  assert.is(c.hostname, '10.0.0.9')
  const last = c.proxyJump
  assert.is(last?.alias, 'hop2')
  assert.is(last?.port, 2022)
  assert.is(last?.proxyJump?.alias, 'hop1', 'hop2 is reached through hop1, not through its own ProxyJump')
  assert.is(last?.proxyJump?.proxyJump, undefined)
})

test('hops inherit the key file, known_hosts and policy of the host they serve', () => {
  const t = resolveSshTarget('web1', { ansible_ssh_private_key_file: '/k/id', berth_known_hosts_file: '/k/kh', berth_proxy_jump: 'root@127.0.0.1:2222' }, opts)
  assert.equal(t.proxyJump?.identityFiles, [join(home, '.ssh/catchall'), '/k/id'])
  assert.equal(t.proxyJump?.knownHostsFiles, ['/k/kh'])
})

test('a ProxyJump loop is a ConfigError', () => {
  assert.throws(() => resolveSshTarget('loop-a', {}, opts), (e: unknown) => e instanceof ConfigError && /loop/.test((e as Error).message))
})

test('StrictHostKeyChecking no in ssh config stays strict; a bad berth_host_key_checking is a ConfigError', () => {
  assert.is(resolveSshTarget('insecure', {}, opts).hostKeyPolicy, 'strict')
  assert.throws(() => resolveSshTarget('web1', { berth_host_key_checking: 'no' }, opts), (e: unknown) => e instanceof ConfigError)
  assert.throws(() => resolveSshTarget('web1', { berth_host_key_checking: false }, opts), (e: unknown) => e instanceof ConfigError)
})

test('UserKnownHostsFile with several files; bad numbers are ConfigErrors', () => {
  assert.equal(resolveSshTarget('files', {}, opts).knownHostsFiles, [join(home, '.ssh/kh1'), '/etc/berth/kh2'])
  assert.throws(() => resolveSshTarget('web1', { ansible_port: 'ssh' }, opts), (e: unknown) => e instanceof ConfigError && /ansible_port/.test((e as Error).message))
  assert.throws(() => resolveSshTarget('web1', { ansible_port: 70000 }, opts), (e: unknown) => e instanceof ConfigError)
  assert.throws(() => resolveSshTarget('web1', { berth_ssh_max_sessions: 0 }, opts), (e: unknown) => e instanceof ConfigError)
})

test('a missing ssh config file is an empty config', () => {
  const t = resolveSshTarget('web1', {}, { sshConfigPath: join(home, 'nope'), home, env: {} })
  assert.is(t.hostname, 'web1')
  assert.is(t.port, 22)
})

test('Include: files are read in place, lines after it stay in their block', () => {
  mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true })
  writeFileSync(join(home, '.ssh', 'conf.d', '10-db.conf'), 'Host db\n  HostName 10.5.5.5\n  User dba\n')
  writeFileSync(
    join(home, '.ssh', 'main_config'),
    'Host app\n  Include conf.d/*.conf\n  User appuser\n\nInclude conf.d/*.conf\n\nHost *\n  Port 2345\n',
  )
  const o = { sshConfigPath: join(home, '.ssh', 'main_config'), home, env: {} }
  assert.is(resolveSshTarget('db', {}, o).hostname, '10.5.5.5')
  assert.is(resolveSshTarget('db', {}, o).user, 'dba')
  assert.is(resolveSshTarget('db', {}, o).port, 2345)
  assert.is(resolveSshTarget('app', {}, o).user, 'appuser', 'the line after Include still belongs to Host app')
})

test('parseJumpSpec', () => {
  assert.equal(parseJumpSpec('root@127.0.0.1:2222'), { host: '127.0.0.1', user: 'root', port: 2222 })
  assert.equal(parseJumpSpec('bastion'), { host: 'bastion' })
  assert.equal(parseJumpSpec('ssh://me@[::1]:22'), { host: '::1', user: 'me', port: 22 })
  assert.throws(() => parseJumpSpec('me@'), (e: unknown) => e instanceof ConfigError)
})

test.run()
