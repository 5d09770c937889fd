// Issue 10, items 4 to 6 under become: sudo reads its password line from the
// command's standard input, so whatever else travels there (a write's size and
// sha256 header, a long command sent on stdin, a 1000-probe fact batch) must come
// after it and still arrive whole.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, readFileSync, statSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, type TestSshd } from '../support/sshd.ts'
import { Host } from '../../src/host.ts'
import { transportFor } from '../../src/connection/open.ts'
import { Redactor } from '../../src/secrets.ts'
import { fileFact } from '../../src/facts/file.ts'
import { gather } from '../../src/facts/gather.ts'

const USER = `berthharden${process.pid % 10000}`
const PASSWORD = 'Harden-Pass-42'
const SUDOERS = `/etc/sudoers.d/${USER}`
const test = needing(['ssh-tests', 'become-tests'], uvuTest, 'hardening-become.test.ts')
let sshd: TestSshd
let dir = ''

test.before(async () => {
  execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', USER])
  execFileSync('chpasswd', { input: `${USER}:${PASSWORD}\n` })
  writeFileSync(SUDOERS, `${USER} ALL=(ALL:ALL) ALL\n`, { mode: 0o440 })
  sshd = await startSshd()
  dir = mkdtempSync(join(tmpdir(), 'berth-become-hardening-'))
  chmodSync(dir, 0o755)
})
test.after(async () => {
  await sshd?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
  rmSync(SUDOERS, { force: true })
  execFileSync('userdel', ['--remove', USER], { stdio: 'ignore' })
})

function host(redactor = new Redactor()) {
  const all = {
    ansible_host: '127.0.0.1',
    ansible_port: sshd.port,
    ansible_user: USER,
    ansible_ssh_private_key_file: sshd.clientKey,
    berth_known_hosts_file: sshd.knownHosts,
    ansible_become: true,
    ansible_become_password: PASSWORD,
  }
  const t = transportFor('h', all, '/dev/null')
  return new Host({ name: 'h', address: '127.0.0.1', vars: all, connection: t.connection, become: t.become, user: t.user, redactor })
}

test('writeFile as root through sudo with a password: the header after the password line, the file whole and root-owned', async () => {
  const h = host()
  try {
    const content = Buffer.alloc(2_000_000, 'b')
    await h.writeFile(join(dir, 'root-file'), content, { mode: '0600' })
    assert.ok(readFileSync(join(dir, 'root-file')).equals(content))
    assert.is(statSync(join(dir, 'root-file')).uid, 0)
  } finally {
    await h.connection.close()
  }
})

test('a 300 KB command through sudo with a password runs as root, its own stdin intact', async () => {
  const redactor = new Redactor()
  const h = host(redactor)
  try {
    const r = await h.$`id -un; printf '%s' ${'x'.repeat(300_000)} | wc -c; cat`.stdin('own input\n')
    assert.is(r.stdout, 'root\n300000\nown input\n')
    assert.not.match(r.stdout + r.stderr, new RegExp(PASSWORD))
  } finally {
    await h.connection.close()
  }
})

test('1000 fact probes in one batch through sudo with a password', async () => {
  const h = host()
  try {
    const facts = Array.from({ length: 1000 }, (_, i) => fileFact(`/root/berth-nonexistent-${i}`))
    const values = await gather(h, facts)
    assert.equal(values.get(facts[999]!), { exists: false })
  } finally {
    await h.connection.close()
  }
})

test.run()
