// Issue 10, items 5 and 6: data that does not fit on a command line. Many managed
// files on one host (the batched fact probe outgrows the kernel's limit for one
// argument), a NUL byte in a command argument, and a command larger than sshd's
// packet limit. Each must be a task result that says what happened, never a host
// marked UNREACHABLE, and the host stays usable by later plays.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { TestSshd } from '../support/sshd.ts'
import { CountingConnection } from '../support/counting-connection.ts'
import type { Playbook } from '../../src/playbook.ts'
import { runPlaybook, sshdInventory, sshdVars, sshdAndTempDir } from '../support/playbook-run.ts'
import { copy, command } from '../../src/resources/index.ts'
import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { LocalConnection } from '../../src/connection/local.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { applyTasks } from '../../src/runner/tasks.ts'
import { sh } from '../../src/shell.ts'

const test = needing('ssh-tests', uvuTest, 'hardening-data.test.ts')

let sshd: TestSshd
let dir = ''
sshdAndTempDir(test, 'berth-hardening-', (now) => ({ sshd, dir } = now))

const sshVars = () => sshdVars(sshd)

const inventory = (): string => sshdInventory(dir, sshd, ['web1', 'web2'])
const run = (argv: string[], body: (pb: Playbook) => Promise<void>) => runPlaybook(argv, body, 'hardening')

const MANY = 1000
const manyFiles = (root: string, label: string) => Array.from({ length: MANY }, (_, i) => copy({ path: join(root, `f${i}`), content: `${label} ${i}\n` }))

// ---- item 5: many managed files on one host ----

/** The files as manyFiles(root, label) wants them, all but those in `missing`. */
function prepare(root: string, label: string, missing: readonly number[] = []): void {
  mkdirSync(root, { recursive: true })
  for (let i = 0; i < MANY; i++) if (!missing.includes(i)) writeFileSync(join(root, `f${i}`), `${label} ${i}\n`)
}

// Every task's fact is read in the first exec of the play (and again whenever the
// look-ahead grows), so a host where most files are already right is the case
// that sends the largest batch. A first run from nothing sends it too, before
// its first change.
test(`a play with ${MANY} managed files on one host runs over SSH: the missing file is made, a second run changes nothing`, async () => {
  const inv = inventory()
  const root = join(dir, 'many')
  prepare(root, 'file', [MANY - 1])
  const body = async (pb: Playbook) => {
    await pb.play('many', 'web1', () => manyFiles(root, 'file'))
  }
  const first = await run(['-i', inv], body)
  assert.is(first.code, 0, first.out.slice(-3000) + first.err)
  assert.match(first.out, new RegExp(`web1\\s*: ok=${MANY}\\s+changed=1\\s+unreachable=0\\s+failed=0`))
  assert.is(readdirSync(root).length, MANY)
  assert.is(readFileSync(join(root, `f${MANY - 1}`), 'utf8'), `file ${MANY - 1}\n`)
  const second = await run(['-i', inv], body)
  assert.is(second.code, 0, second.out.slice(-3000) + second.err)
  assert.match(second.out, new RegExp(`web1\\s*: ok=${MANY}\\s+changed=0\\s+unreachable=0\\s+failed=0`))
})

for (const count of [200, MANY])
  test(`a converged host with ${count} managed files costs one round trip over SSH, and so does an ordinary one`, async () => {
    const root = join(dir, 'many')
    prepare(root, 'file')
    const conn = new CountingConnection(new SshConnection(resolveSshTarget('box', sshVars(), { sshConfigPath: '/dev/null' })))
    const host = new Host({ name: 'box', address: '127.0.0.1', connection: conn })
    try {
      const results = await applyTasks(host, manyFiles(root, 'file').slice(0, count))
      assert.equal(results.filter((r) => r.status !== 'ok').map((r) => `${r.task}: ${r.status} ${r.error?.message ?? ''}`), [])
      assert.is(conn.commands.length, 1, 'one exec for all facts')
      conn.commands.length = 0
      await applyTasks(host, manyFiles(root, 'file').slice(0, 10))
      assert.is(conn.commands.length, 1)
      assert.ok((conn.commands[0] as string).length < 20_000, 'an ordinary batch still goes as the command line')
    } finally {
      await conn.close()
    }
  })

test(`the same ${MANY} files through a local connection`, async () => {
  const root = join(dir, 'many')
  prepare(root, 'local', [MANY - 1])
  const host = new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
  const results = await applyTasks(host, manyFiles(root, 'local'))
  assert.equal(results.filter((r) => r.status !== 'ok').map((r) => `${r.task}: ${r.status} ${r.error?.message ?? ''}`), [`copy ${root}/f${MANY - 1}: changed `])
  assert.is(readFileSync(join(root, `f${MANY - 1}`), 'utf8'), `local ${MANY - 1}\n`)
})

// ---- item 6: a NUL byte in an argument, a command larger than sshd's packet limit ----

test('a NUL byte in a command argument fails that task naming the cause and file:line; exit 2, not UNREACHABLE; the host goes on to a later play', async () => {
  const inv = inventory()
  const marker = join(dir, 'later-play')
  const r = await run(['-i', inv], async (pb) => {
    // A NUL in the command text itself (not through sh, which refuses it while the play is built): refused at run time.
    await pb.play('nul', 'all', (h) => [
      h.name === 'web1' ? command("printf '%s' 'a\0b'").named('nul arg') : command("printf '%s' 'a\0b'").named('nul arg').ignoreErrors(),
    ])
    await pb.play('later', 'all', (h) => [copy({ path: `${marker}-${h.name}`, content: 'still here\n' })])
  })
  assert.is(r.code, 2, r.out + r.err)
  assert.not.match(r.out, /UNREACHABLE/)
  assert.match(r.out, /fatal: \[web1\]: FAILED!/)
  assert.match(r.out, /NUL/)
  assert.match(r.out, /hardening-data\.test\.ts:\d+/)
  // web2 ignored the failure and is used by the later play; web1 failed, so it sits the rest out (as in Ansible).
  assert.ok(existsSync(`${marker}-web2`), r.out)
  assert.not.ok(existsSync(`${marker}-web1`))
  assert.match(r.out, /web1\s*: ok=0\s+changed=0\s+unreachable=0\s+failed=1/)
})

test('a NUL byte interpolated with sh is refused while the play is built: exit 1, its file:line, no host touched', async () => {
  const inv = inventory()
  const marker = join(dir, 'ran')
  const r = await run(['-i', inv], async (pb) => {
    await pb.play('nul', 'all', () => [command(sh`touch ${marker}`), command(sh`printf '%s' ${'a\0b'}`).named('nul arg')])
  })
  assert.is(r.code, 1, r.out + r.err)
  assert.match(r.err, /interpolates a string holding a NUL byte/)
  assert.match(r.err, /hardening-data\.test\.ts:\d+/)
  assert.not.match(r.out + r.err, /UNREACHABLE/)
  assert.not.ok(existsSync(marker))
})

test('a command larger than 256 KB runs (it is sent on standard input), and the host goes on to a later play', async () => {
  const inv = inventory()
  const big = 'x'.repeat(300_000)
  const marker = join(dir, 'later-play')
  let output = ''
  const r = await run(['-i', inv, '--limit', 'web1'], async (pb) => {
    const result = await pb.play('big', 'all', () => [command(sh`printf '%s' ${big} | wc -c`).named('big command')])
    output = result.output('web1', 'big command')?.stdout ?? ''
    await pb.play('later', 'all', () => [copy({ path: marker, content: 'still here\n' })])
  })
  assert.is(r.code, 0, r.out.slice(0, 3000) + r.err)
  assert.is(output.trim(), '300000')
  assert.ok(existsSync(marker))
})

test('a command between the argument limit (128 KiB) and 256 KB runs too, with stdin still reaching it', async () => {
  const host = new Host({ name: 'box', address: '127.0.0.1', connection: new SshConnection(resolveSshTarget('box', sshVars(), { sshConfigPath: '/dev/null' })) })
  try {
    const arg = 'y'.repeat(200_000)
    const r = await host.$`printf '%s' ${arg} | wc -c; cat`.stdin('after the script\n')
    assert.is(r.stdout, '200000\nafter the script\n')
    // A script that exits early, and one that reads all of stdin itself.
    assert.is((await host.$`exit 7; : ${arg}`.nothrow()).code, 7)
    assert.is((await host.$`wc -c; : ${arg}`.stdin(Buffer.alloc(1_000_000, 65))).stdout.trim(), '1000000')
  } finally {
    await host.connection.close()
  }
})

test.run()
