// Errors in a playbook's own code: exit 1 with its file:line and message (the
// stack with -vv), as the README's exit code table says; 250 stays for bugs in
// berth. Local connection: no sshd needed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { playbook, type Playbook } from '../../src/playbook.ts'
import { command } from '../../src/resources/index.ts'
import { sh } from '../../src/shell.ts'

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-code-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

async function run(argv: string[], body: (pb: Playbook) => Promise<void>): Promise<{ code: number; text: string }> {
  let text = ''
  const code = await playbook('code', body, { argv, out: (t) => void (text += t), err: (t) => void (text += t), setExitCode: false, sshConfigPath: '/dev/null' })
  return { code, text }
}

const HERE = /test\/integration\/playbook-code-errors\.test\.ts:\d+/

test('an Error thrown by playbook code: exit 1, file:line and message, no stack', async () => {
  const r = await run([], async () => {
    throw new Error('the cluster has no quorum')
  })
  assert.is(r.code, 1, r.text)
  assert.match(r.text, new RegExp(`ERROR! \\S*${HERE.source}: Error: the cluster has no quorum`))
  assert.not.match(r.text, /\n\s+at /)
})

test('a TypeError in playbook code after a play: exit 1 (not 250), the stack with -vv', async () => {
  const r = await run(['-vv'], async (pb) => {
    await pb.play('p', 'all', () => [command('true').named('fine')])
    const settings = undefined as unknown as { port: number }
    pb.log(String(settings.port))
  })
  assert.is(r.code, 1, r.text)
  assert.match(r.text, HERE)
  assert.match(r.text, /TypeError: Cannot read properties of undefined/)
  assert.match(r.text, /\n\s+at /)
  assert.match(r.text, /PLAY RECAP/)
})

test('undefined interpolated into host.$: refused with the file:line, nothing runs', async () => {
  const marker = join(dir, 'ran')
  const r = await run([], async (pb) => {
    const unit = (pb.host('localhost').vars as Record<string, unknown>).berth_no_such_var as string
    await pb.host('localhost').$`touch ${marker}; systemctl restart ${unit}`
  })
  assert.is(r.code, 1, r.text)
  assert.match(r.text, /interpolates undefined where a shell word belongs: `; systemctl restart \$\{…\}`/)
  assert.match(r.text, HERE)
  assert.not.ok(existsSync(marker))
})

test('an object interpolated into a task\'s command: refused while the play is built, before any host is touched', async () => {
  const marker = join(dir, 'ran')
  const r = await run([], async (pb) => {
    await pb.play('p', 'all', () => [command(sh`touch ${marker}`), command(sh`echo ${{ port: 5432 } as unknown as string}`)])
  })
  assert.is(r.code, 1, r.text)
  assert.match(r.text, /interpolates an object \(Object\)/)
  assert.not.ok(existsSync(marker))
})

test.run()
