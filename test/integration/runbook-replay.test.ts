// The runbook is true: what `--runbook` prints, pasted into a shell on a fresh
// host, gives the same result as berth (berth's --check --detect-drift finds
// nothing to do afterwards). Local connection: the "host" is this machine, in
// a temp directory; the blocks run with plain sh, no berth code.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Playbook } from '../../src/playbook.ts'
import { blockInFile, command, copy, file, lineInFile } from '../../src/resources/index.ts'
import { sh } from '../../src/shell.ts'
import { runPlaybook } from '../support/playbook-run.ts'

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-runbook-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const site = (root: string) => async (pb: Playbook) => {
  await pb.play('site', 'all', () => [
    file({ path: join(root, 'etc'), state: 'directory', mode: '0750' }),
    copy({ path: join(root, 'etc', 'app.conf'), content: "name = 'berth'\nport = 8080\n", mode: '0640' }),
    copy({ path: join(root, 'etc', 'no-newline'), content: 'last line without one' }),
    lineInFile({ path: join(root, 'var', 'lib', 'settings'), regexp: /^greeting=/, line: 'greeting=hello', create: true }),
    // A second editor of the file the line above creates: --check plans it on the content that task would write.
    blockInFile({ path: join(root, 'var', 'lib', 'settings'), block: 'extra=1\nBERTH_EOF' }),
    command(sh`cat > ${join(root, 'from-stdin')}`, { stdin: 'piped\nlines\n', creates: join(root, 'from-stdin') }),
  ])
}

/** The ```sh blocks of a runbook, in order; not the `read` lines that set its secrets (the test sets them). */
const blocks = (markdown: string): string[] =>
  [...markdown.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => (m[1] as string) + '\n').filter((b) => !b.startsWith('read -rsp '))

function replay(markdown: string): void {
  for (const block of blocks(markdown)) execFileSync('sh', ['-e'], { input: block, stdio: ['pipe', 'pipe', 'pipe'] })
}

test('--check --runbook on a fresh host, pasted by hand (sh), leaves what berth would: no drift after', async () => {
  const root = join(dir, 'host')
  const rb = join(dir, 'check.md')
  const check = await runPlaybook(['--check', '--runbook', rb], site(root))
  assert.is(check.code, 0, check.out + check.err)
  assert.not.ok(existsSync(root), '--check changed nothing')
  const markdown = readFileSync(rb, 'utf8')
  assert.match(markdown, /^# Runbook: test\n/)
  assert.match(markdown, /What would run now \(`--check`\)/)
  assert.is(blocks(markdown).length, 6)
  replay(markdown)
  const drift = await runPlaybook(['--check', '--detect-drift'], site(root))
  assert.is(drift.code, 0, drift.out)
  assert.match(drift.out, /ok=6\s+changed=0/)
  assert.is(readFileSync(join(root, 'etc', 'no-newline'), 'utf8'), 'last line without one')
  assert.is(readFileSync(join(root, 'from-stdin'), 'utf8'), 'piped\nlines\n')
  assert.is((statSync(join(root, 'etc', 'app.conf')).mode & 0o777).toString(8), '640')
})

test('the runbook of a real run is its record: replayed on a fresh host it gives the same files', async () => {
  const root = join(dir, 'host')
  const rb = join(dir, 'run.md')
  const run = await runPlaybook(['--runbook', rb], site(root))
  assert.is(run.code, 0, run.out + run.err)
  const files = ['etc/app.conf', 'etc/no-newline', 'var/lib/settings', 'from-stdin']
  const byBerth = files.map((f) => readFileSync(join(root, f), 'utf8'))
  rmSync(root, { recursive: true })
  replay(readFileSync(rb, 'utf8'))
  assert.equal(files.map((f) => readFileSync(join(root, f), 'utf8')), byBerth)
  assert.is((await runPlaybook(['--check', '--detect-drift'], site(root))).code, 0)
})

test('a second run records nothing to paste; a failed run still writes what ran up to the failure', async () => {
  const root = join(dir, 'host')
  await runPlaybook([], site(root))
  const rb = join(dir, 'again.md')
  assert.is((await runPlaybook(['--runbook', rb], site(root))).code, 0)
  assert.is(blocks(readFileSync(rb, 'utf8')).length, 0)
  const failing = join(dir, 'failing.md')
  const r = await runPlaybook(['--runbook', failing], async (pb) => {
    await pb.play('p', 'all', () => [command(sh`echo first`).named('first'), command(sh`exit 3`).named('second')])
  })
  assert.is(r.code, 2)
  const md = readFileSync(failing, 'utf8')
  assert.match(md, /1\. first\n\n```sh\n\(\nset -e\necho first\n\)\n```/)
  assert.match(md, /2\. second \(it failed in this run\)/)
})

test('a secret the playbook makes (pb.secret) is masked in the output and a variable in the runbook; replayed with it set, the bytes match', async () => {
  const root = join(dir, 'host')
  const rb = join(dir, 'secret.md')
  const token = 'generated-t0ken-$HOME-`x`'
  const body = async (pb: Playbook) => {
    const s = pb.secret(token, 'app_token')
    await pb.play('p', 'all', () => [file({ path: root, state: 'directory' }), copy({ path: join(root, 'token.env'), content: `TOKEN=${s.reveal()}\n`, mode: '0600' }).named('token file')])
  }
  const run = await runPlaybook(['--runbook', rb, '--diff', '-vv'], body)
  assert.is(run.code, 0, run.out + run.err)
  assert.not.ok((run.out + run.err).includes(token), 'not in the output')
  const markdown = readFileSync(rb, 'utf8')
  assert.not.ok(markdown.includes(token), 'not in the runbook')
  assert.match(markdown, /^TOKEN=\$\{APP_TOKEN\}$/m)
  assert.match(markdown, /read -rsp 'APP_TOKEN: ' APP_TOKEN/)
  rmSync(root, { recursive: true })
  for (const block of blocks(markdown)) execFileSync('sh', ['-e'], { input: `APP_TOKEN='${token}'\n${block}`, stdio: ['pipe', 'pipe', 'pipe'] })
  assert.is(readFileSync(join(root, 'token.env'), 'utf8'), `TOKEN=${token}\n`)
})

test.run()
