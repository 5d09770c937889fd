// A whole playbook run through playbook(): real inventory files, real sshd on
// 127.0.0.1, real resources. What an operator sees: output, exit codes, masking.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { writeFileSync, readFileSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { TestSshd } from '../support/sshd.ts'
import type { Playbook } from '../../src/playbook.ts'
import { runPlaybook, sshdAndTempDir } from '../support/playbook-run.ts'
import { copy, file, lineInFile, command } from '../../src/resources/index.ts'
import { defineRole } from '../../src/role.ts'
import { encryptVault } from '../../src/inventory/vault.ts'
import { sh } from '../../src/shell.ts'

const test = needing('ssh-tests', uvuTest, 'playbook.test.ts')

let sshd: TestSshd
let dir = ''

sshdAndTempDir(test, 'berth-pb-', (now) => ({ sshd, dir } = now))

const VAULT_PASSWORD = 'lab-only-vault-password'
const DB_PASSWORD = 'S3cr3t-db-p4ss'

function inventory(extraHosts = ''): string {
  const path = join(dir, 'hosts.yml')
  writeFileSync(
    path,
    `all:
  vars:
    ansible_host: 127.0.0.1
    ansible_port: ${sshd.port}
    ansible_user: root
    ansible_ssh_private_key_file: ${sshd.clientKey}
    berth_known_hosts_file: ${sshd.knownHosts}
  children:
    web:
      hosts:
        web1:
        web2:
    db:
      hosts:
        db1:
${extraHosts}`,
  )
  mkdirSync(join(dir, 'group_vars'), { recursive: true })
  writeFileSync(join(dir, 'group_vars', 'db.yml'), encryptVault(`db_password: ${DB_PASSWORD}\n`, VAULT_PASSWORD))
  writeFileSync(join(dir, 'vault-pass'), VAULT_PASSWORD + '\n')
  return path
}

const run = (argv: string[], body: (pb: Playbook) => Promise<void>) => runPlaybook(argv, body)

const site = (root: string) => async (pb: Playbook) => {
  await pb.play('site', 'all', (h) => [
    file({ path: join(root, h.name), state: 'directory', mode: '0750' }),
    copy({ path: join(root, h.name, 'motd'), content: `hello ${h.name}\n`, mode: '0640' }),
    lineInFile({ path: join(root, h.name, 'app.conf'), regexp: /^port=/, line: 'port=8080', create: true }),
  ])
}

test('converges over SSH, the second run changes nothing, recap and exit 0', async () => {
  const inv = inventory()
  const root = join(dir, 'out')
  const first = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass')], site(root))
  assert.is(first.code, 0, first.out + first.err)
  assert.match(first.out, /PLAY RECAP/)
  assert.match(first.out, /web1\s*: ok=3\s+changed=3/)
  assert.is(readFileSync(join(root, 'db1', 'motd'), 'utf8'), 'hello db1\n')
  assert.is((statSync(join(root, 'db1', 'motd')).mode & 0o777).toString(8), '640')
  const second = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass')], site(root))
  assert.is(second.code, 0)
  assert.match(second.out, /web1\s*: ok=3\s+changed=0/)
})

test('--check changes nothing on the host; --detect-drift exits 3', async () => {
  const inv = inventory()
  const root = join(dir, 'out')
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '--check', '--diff', '--detect-drift'], site(root))
  assert.is(r.code, 3, r.out + r.err)
  assert.not.ok(existsSync(root))
  assert.match(r.out, /\+hello web1/)
})

test('--limit narrows hosts; an unknown name fails before any host is touched', async () => {
  const inv = inventory()
  const root = join(dir, 'out')
  const ok = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '--limit', 'web:!web2'], site(root))
  assert.is(ok.code, 0)
  assert.ok(existsSync(join(root, 'web1')))
  assert.not.ok(existsSync(join(root, 'web2')))
  const bad = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '--limit', 'nosuch'], site(join(dir, 'other')))
  assert.is(bad.code, 1)
  assert.match(bad.err, /nosuch/)
  assert.not.ok(existsSync(join(dir, 'other')))
})

test('a failing command: exit 2, masked command, exit code and stderr tail; vault secret never printed', async () => {
  const inv = inventory()
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '-vv', '--limit', 'db'], async (pb) => {
    await pb.play('db', 'db', (h) => [command(sh`echo connecting with ${h.need<string>('db_password')} >&2; exit 3`)])
  })
  assert.is(r.code, 2)
  assert.match(r.out, /fatal: \[db1\]: FAILED!/)
  assert.match(r.out, /exited with code 3/)
  assert.match(r.out, /connecting with \*\*\*\*\*\*\*\*/)
  assert.not.match(r.out + r.err, new RegExp(DB_PASSWORD))
})

test('--json: one event per line, masked, ending with a recap', async () => {
  const inv = inventory()
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '--json', '--limit', 'db'], async (pb) => {
    await pb.play('db', 'db', (h) => [command(sh`echo ${h.need<string>('db_password')}`).named('echo')])
  })
  assert.is(r.code, 0, r.out)
  const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string })
  assert.equal(events[0]?.kind, 'playbook_start')
  assert.equal(events.at(-1)?.kind, 'recap')
  assert.ok(events.some((e) => e.kind === 'host_result'))
  assert.not.match(r.out, new RegExp(DB_PASSWORD))
})

test('a wrong vault password is a clear error and touches nothing', async () => {
  const inv = inventory()
  writeFileSync(join(dir, 'wrong'), 'not-the-password\n')
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'wrong')], site(join(dir, 'out')))
  assert.is(r.code, 1)
  assert.match(r.err, /vault/i)
  assert.not.ok(existsSync(join(dir, 'out')))
})

test('an unreachable host is UNREACHABLE with the reason, the others go on, exit 4', async () => {
  const inv = inventory(`    down:
      hosts:
        ghost:
          ansible_port: 1
`)
  const root = join(dir, 'out')
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass')], site(root))
  assert.is(r.code, 4, r.out + r.err)
  assert.match(r.out, /fatal: \[ghost\]: UNREACHABLE! => .*refused/)
  assert.ok(existsSync(join(root, 'web1', 'motd')))
})

test('a bad role option fails naming role and option, before any host is touched', async () => {
  const inv = inventory()
  const role = defineRole<{ port: number }, Record<never, never>>({
    name: 'portal',
    defaults: {},
    required: ['port'],
    validate: (o, fail) => {
      if (o.port > 65535) fail('port', `must be at most 65535, got ${o.port}`)
    },
    tasks: (o) => [copy({ path: join(dir, 'port'), content: String(o.port) })],
  })
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass')], async (pb) => {
    await pb.play('portal', 'web', () => role({ port: 70000 }))
  })
  assert.is(r.code, 1)
  assert.match(r.err, /role portal: option 'port' must be at most 65535/)
  assert.not.ok(existsSync(join(dir, 'port')))
})

test('a variable a role needs that is missing: names variable, host and role; exit 1; nothing touched', async () => {
  const inv = inventory()
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass')], async (pb) => {
    await pb.play('db', 'all', (h) => [copy({ path: join(dir, `${h.name}.conf`), content: h.need<string>('pg.password', 'role pg13-primary') })])
  })
  assert.is(r.code, 1)
  assert.match(r.err, /host web1: variable 'pg\.password' is not set \(needed by role pg13-primary\)/)
  assert.match(r.err, /-e pg\.password=VALUE/)
  assert.not.match(r.err, /\n\s+at /) // no stack trace for a user error
  assert.not.ok(existsSync(join(dir, 'web1.conf')))
})

test('--list-tasks and --list-hosts run nothing', async () => {
  const inv = inventory()
  const root = join(dir, 'out')
  const r = await run(['-i', inv, '--vault-password-file', join(dir, 'vault-pass'), '--list-hosts', '--list-tasks'], site(root))
  assert.is(r.code, 0)
  assert.match(r.out, /web1\n\s+web2\n\s+db1/)
  assert.match(r.out, /copy .*motd/)
  assert.not.ok(existsSync(root))
})

test('bad flags exit 5 with a hint', async () => {
  const r = await run(['--forks', 'zero'], async () => {})
  assert.is(r.code, 5)
  assert.match(r.err, /--forks/)
})

test.run()
