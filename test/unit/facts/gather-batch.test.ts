// Issue 10, item 5: the batched fact probe of a play with many managed files
// outgrew the kernel's limit for one argument (MAX_ARG_STRLEN, 128 KiB) and sshd's
// packet limit, and a probe cut short said nothing of why. The batch stays one
// exec, whatever its size; a cut-short probe names how the batch ended.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FakeConnection } from '../../../src/connection/fake.ts'
import { LocalConnection } from '../../../src/connection/local.ts'
import { fileContentFact, fileFact } from '../../../src/facts/file.ts'
import { gather, splitBatch } from '../../../src/facts/gather.ts'
import { ARGUMENT_LIMIT, Host } from '../../../src/host.ts'
import { secret } from '../../../src/secrets.ts'
import type { ExecResult } from '../../../src/connection/connection.ts'
import { fact } from '../../../src/facts/fact.ts'
import { sh, ShellCommand } from '../../../src/shell.ts'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const files = (n: number) => Array.from({ length: n }, (_, i) => fileContentFact(`/srv/app/conf.d/file-${i}.conf`))
const markerOf = (command: string, stdin: string) => /@@berth-[0-9a-f]{12}/.exec(command + stdin)?.[0] ?? ''

/** What a host answers for probes 0..done-1 ('absent'), then a probe begun and never finished. */
function cutAfter(done: number, end: Partial<ExecResult>) {
  return (command: string, stdin: string): Partial<ExecResult> => {
    const m = markerOf(command, stdin)
    let stdout = ''
    let stderr = ''
    for (let i = 0; i < done; i++) {
      stdout += `\n${m} ${i} begin\nabsent\n\n${m} ${i} end 0\n`
      stderr += `\n${m} ${i} begin\n`
    }
    stdout += `\n${m} ${done} begin\n`
    stderr += `\n${m} ${done} begin\n`
    return { stdout, stderr: stderr + (end.stderr ?? ''), code: end.code ?? null, signal: end.signal }
  }
}

test('an ordinary batch (a few facts) is one exec whose command line is the batch itself', async () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  await gather(host, files(3)).catch(() => undefined)
  assert.is(fake.commands.length, 1)
  assert.match(fake.commands[0]!.command, /file-2\.conf/)
  assert.is(fake.commands[0]!.stdin, '')
})

test('1000 facts are still one exec: the script goes on stdin, the command line stays short', async () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  await gather(host, files(1000)).catch(() => undefined)
  assert.is(fake.commands.length, 1)
  const { command, stdin } = fake.commands[0]!
  assert.ok(command.length < 1000, `command line of ${command.length} characters`)
  assert.not.match(command, /file-0\.conf/)
  assert.match(stdin, /file-999\.conf/)
  assert.ok(stdin.length > ARGUMENT_LIMIT)
  assert.match(command, new RegExp(`dd bs=${Buffer.byteLength(stdin)} count=1`))
})

test('with become and a sudo password, the password line comes first on stdin, then the script', async () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake, user: 'deploy', become: { user: 'root', password: secret('sudo-pw-1') } })
  await gather(host, files(1000)).catch(() => undefined)
  const { command, stdin } = fake.commands[0]!
  assert.match(command, /^sudo -H -S -k -p '' -u root -- sh -c /)
  assert.ok(command.length < 1000)
  assert.ok(stdin.startsWith('sudo-pw-1\n'))
  assert.match(stdin.slice('sudo-pw-1\n'.length), /^printf '\\n@@berth-/)
})

test('the batch at the size that used to break (about 165 content probes) and at 1000 runs for real through sh', async () => {
  const host = new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
  for (const n of [170, 1000]) {
    const facts = Array.from({ length: n }, (_, i) => fileFact(`/nonexistent/berth-${i}`))
    const values = await gather(host, facts)
    assert.equal(values.get(facts[n - 1]!), { exists: false })
  }
})

test('a batch killed halfway: the first cut-short probe names the signal, how far the batch got, and its stderr', async () => {
  const fake = new FakeConnection().on(/@@berth-/, cutAfter(2, { signal: 'SIGKILL', stderr: 'Killed\n' }))
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  const facts = files(5)
  const err = await gather(host, facts).then(() => undefined, (e: Error) => e)
  assert.ok(err)
  assert.match(err.message, /^h: could not read fact file\+content:\/srv\/app\/conf\.d\/file-2\.conf: probe output was cut short/)
  assert.match(err.message, /the batch of 5 probes \(one exec\) was killed by SIGKILL after 2 of them finished/)
  assert.match(err.message, /its stderr ends: Killed/)
})

test('a batch that could not even start: the exit code and the shell\'s complaint', async () => {
  const fake = new FakeConnection().on(/@@berth-/, { code: 126, stderr: '/bin/bash: Argument list too long\n' })
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  const err = await gather(host, files(3)).then(() => undefined, (e: Error) => e)
  assert.ok(err)
  assert.match(err.message, /file-0\.conf: probe output was cut short: the batch of 3 probes \(one exec\) exited with code 126 after 0 of them finished; its stderr ends: \/bin\/bash: Argument list too long/)
})

test('splitBatch without a status still says the output was cut short; complete probes are untouched', () => {
  const m = '@@berth-000000000000'
  const out = splitBatch(2, m, `\n${m} 0 begin\nok\n\n${m} 0 end 0\n`, `\n${m} 0 begin\n`)
  assert.equal(out[0], { code: 0, stdout: 'ok\n', stderr: '' })
  assert.is(out[1]!.code, null)
  assert.is(out[1]!.cutShort, true)
  assert.match(out[1]!.stderr, /probe output was cut short/)
})

test.run()

test('slow probes run at once, in the background, while the quick ones run; each keeps its own output, stderr and exit code', async () => {
  const host = new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
  const dir = mkdtempSync(join(tmpdir(), 'berth-slow-'))
  try {
    // Each slow probe waits (5 s at most) for the other's file: both see it only when they run at the same time.
    const meets = (me: string, other: string) =>
      fact(`slow:${me}`, sh`touch ${join(dir, me)}; i=0; while [ ! -e ${join(dir, other)} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; [ -e ${join(dir, other)} ] && echo ${`${me} saw ${other}`}; echo ${`${me} err`} >&2; exit 3`, (o) => o, { slow: true })
    const a = meets('a', 'b')
    const b = meets('b', 'a')
    const quick = fact('quick', sh`echo quick; echo quick-err >&2`, (o) => o)
    const where = fact('slow:where', new ShellCommand('echo "$berth_probes"'), (o) => o.stdout.trim(), { slow: true })
    const values = await gather(host, [a, quick, b, where])
    // The probes' private directory, gone afterwards.
    assert.match(values.get(where), /^\/.+/)
    assert.not.ok(existsSync(values.get(where)), 'the directory of the slow probes\' output is removed')
    assert.equal(values.get(a), { code: 3, stdout: 'a saw b\n', stderr: 'a err\n' })
    assert.equal(values.get(b), { code: 3, stdout: 'b saw a\n', stderr: 'b err\n' })
    assert.equal(values.get(quick), { code: 0, stdout: 'quick\n', stderr: 'quick-err\n' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
