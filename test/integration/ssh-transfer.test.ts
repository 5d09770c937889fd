// Upload and download over real SSH: binary safe, atomic on both sides.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, readdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, type TestSshd } from '../support/sshd.ts'
import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'

const test = needing('ssh-tests', uvuTest, 'ssh-transfer.test.ts')

let sshd: TestSshd
let host: Host
let dir = ''
test.before(async () => {
  sshd = await startSshd()
  const vars = { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: 'root', ansible_ssh_private_key_file: sshd.clientKey, berth_known_hosts_file: sshd.knownHosts }
  host = new Host({ name: 'sshd', address: '127.0.0.1', vars, connection: new SshConnection(resolveSshTarget('sshd', vars, { sshConfigPath: '/dev/null' })) })
  dir = mkdtempSync(join(tmpdir(), 'berth-transfer-'))
})
test.after(async () => {
  await host?.connection.close()
  await sshd?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('upload then download 1 MiB of random bytes, unchanged, with the mode asked for', async () => {
  const data = randomBytes(1024 * 1024)
  writeFileSync(join(dir, 'src.bin'), data)
  await host.upload(join(dir, 'src.bin'), join(dir, 'remote.bin'), { mode: '0640' })
  assert.is((statSync(join(dir, 'remote.bin')).mode & 0o777).toString(8), '640')
  await host.download(join(dir, 'remote.bin'), join(dir, 'back.bin'))
  assert.ok(readFileSync(join(dir, 'back.bin')).equals(data))
  assert.equal(readdirSync(dir).filter((f) => f.includes('berth')).length, 0, 'no temp files left')
})

test('a failed validation leaves the remote file as it was and no temp file behind', async () => {
  writeFileSync(join(dir, 'conf'), 'good\n')
  const err = await host.writeFile(join(dir, 'conf'), 'bad\n', { validate: 'grep -q good %s' }).then(() => undefined, (e: unknown) => e as Error)
  assert.ok(err)
  assert.match(err.message, /validation failed/)
  assert.is(readFileSync(join(dir, 'conf'), 'utf8'), 'good\n')
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('.berth')), [])
})

test.run()
