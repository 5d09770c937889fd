// become via sudo over real SSH: log in as an unprivileged user, become root with
// the sudo password (which must never show in output), and fail clearly without it.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { writeFileSync, rmSync } from 'node:fs'
import { startSshd, type TestSshd } from '../support/sshd.ts'
import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { transportFor } from '../../src/connection/open.ts'
import { Redactor } from '../../src/secrets.ts'

const USER = `berthbecome${process.pid % 10000}`
const PASSWORD = 'Become-Pass-42'
const SUDOERS = `/etc/sudoers.d/${USER}`
const test = needing(['ssh-tests', 'become-tests'], uvuTest, 'become.test.ts')
let sshd: TestSshd

test.before(async () => {
  execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', USER])
  execFileSync('chpasswd', { input: `${USER}:${PASSWORD}\n` })
  writeFileSync(SUDOERS, `${USER} ALL=(ALL:ALL) ALL\n`, { mode: 0o440 })
  sshd = await startSshd()
})
test.after(async () => {
  await sshd?.stop()
  rmSync(SUDOERS, { force: true })
  execFileSync('userdel', ['--remove', USER], { stdio: 'ignore' })
})

function host(vars: Record<string, unknown>, redactor = new Redactor()) {
  const all = { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: USER, ansible_ssh_private_key_file: sshd.clientKey, berth_known_hosts_file: sshd.knownHosts, ...vars }
  const t = transportFor('h', all, '/dev/null')
  return new Host({ name: 'h', address: '127.0.0.1', vars: all, connection: t.connection, become: t.become, user: t.user, redactor })
}

test('login as an unprivileged user, become root with the sudo password from vars', async () => {
  const redactor = new Redactor()
  const h = host({ ansible_become: true, ansible_become_password: PASSWORD }, redactor)
  try {
    assert.is((await h.$`id -un`).stdout, 'root\n')
    // stdin still reaches the command after sudo has read its password line.
    assert.is((await h.$`cat`.stdin('payload')).stdout, 'payload')
    assert.is(redactor.mask(`pw ${PASSWORD}`), 'pw ********')
  } finally {
    await h.connection.close()
  }
})

test('without become the command runs as the login user', async () => {
  const h = host({})
  try {
    assert.is((await h.$`id -un`).stdout, `${USER}\n`)
  } finally {
    await h.connection.close()
  }
})

test('a wrong sudo password fails with sudo\'s reason and never echoes the password', async () => {
  const h = host({ ansible_become: true, ansible_become_password: 'wrong-password-x' })
  try {
    const err = await h.$`id -un`.then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    assert.ok(err, 'expected a failure')
    assert.match(err.message, /exited with code 1/)
    assert.not.match(err.message, /wrong-password-x/)
  } finally {
    await h.connection.close()
  }
})

test.run()
