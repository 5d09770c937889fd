// Issue 10, item 7, through whole playbook runs over SSH: --check and the run agree
// on copy() and template() into a directory that does not exist (both fail with
// the reason, as Ansible's copy and template do), and on the usual play that
// creates the directory first (both fine).
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestSshd } from '../support/sshd.ts'
import type { Playbook } from '../../src/playbook.ts'
import { runPlaybook, sshdInventory, sshdAndTempDir } from '../support/playbook-run.ts'
import { copy, file, template } from '../../src/resources/index.ts'

const test = needing('ssh-tests', uvuTest, 'hardening-check.test.ts')
const templatesDir = fileURLToPath(new URL('../fixtures/templates/', import.meta.url))

let sshd: TestSshd
let dir = ''
sshdAndTempDir(test, 'berth-check-', (now) => ({ sshd, dir } = now))

const inventory = (): string => sshdInventory(dir, sshd, ['web1'])
const run = (argv: string[], body: (pb: Playbook) => Promise<void>) => runPlaybook(argv, body, 'check')

const motd = (path: string) => template({ path, src: 'motd.ejs', vars: { hostname: 'web1', admins: [], raw: 'r' }, templatesDir })

test('copy and template into a missing directory: --check fails as the run does, with the reason; nothing is created', async () => {
  const inv = inventory()
  const missing = join(dir, 'no-such-dir')
  for (const task of [() => copy({ path: join(missing, 'app.conf'), content: 'x\n' }), () => motd(join(missing, 'motd'))]) {
    const body = async (pb: Playbook) => {
      await pb.play('into nothing', 'all', () => [task()])
    }
    const checked = await run(['-i', inv, '--check'], body)
    const ran = await run(['-i', inv], body)
    for (const r of [checked, ran]) {
      assert.is(r.code, 2, r.out + r.err)
      assert.match(r.out, /fatal: \[web1\]: FAILED! => .*cannot create .*no-such-dir\/(app\.conf|motd): its directory .*no-such-dir does not exist/)
      assert.match(r.out, /hardening-check\.test\.ts:\d+/)
    }
    assert.not.match(ran.out, /mktemp/)
    assert.not.ok(existsSync(missing))
  }
})

test('a play that creates the directory first: --check reports the creates (exit 3 with --detect-drift), the run makes them, --check is then clean', async () => {
  const inv = inventory()
  const app = join(dir, 'srv', 'app')
  const body = async (pb: Playbook) => {
    await pb.play('site', 'all', () => [file({ path: app, state: 'directory', mode: '0755' }), copy({ path: join(app, 'app.conf'), content: 'x\n' }), motd(join(app, 'motd'))])
  }
  const checked = await run(['-i', inv, '--check', '--detect-drift'], body)
  assert.is(checked.code, 3, checked.out + checked.err)
  assert.match(checked.out, /web1\s*: ok=3\s+changed=3\s+unreachable=0\s+failed=0/)
  assert.not.ok(existsSync(app))
  const ran = await run(['-i', inv], body)
  assert.is(ran.code, 0, ran.out + ran.err)
  assert.is(readFileSync(join(app, 'app.conf'), 'utf8'), 'x\n')
  const clean = await run(['-i', inv, '--check', '--detect-drift'], body)
  assert.is(clean.code, 0, clean.out + clean.err)
})

test('a directory made in one play counts in --check of the next play', async () => {
  const inv = inventory()
  const app = join(dir, 'opt', 'app')
  const body = async (pb: Playbook) => {
    await pb.play('dirs', 'all', () => [file({ path: app, state: 'directory' })])
    await pb.play('files', 'all', () => [copy({ path: join(app, 'app.conf'), content: 'x\n' })])
  }
  const checked = await run(['-i', inv, '--check'], body)
  assert.is(checked.code, 0, checked.out + checked.err)
  assert.match(checked.out, /changed: \[web1\] => create .*opt\/app\/app\.conf/)
  assert.not.ok(existsSync(app))
  const ran = await run(['-i', inv], body)
  assert.is(ran.code, 0, ran.out + ran.err)
  assert.ok(existsSync(join(app, 'app.conf')))
})

test.run()
