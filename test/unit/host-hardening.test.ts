// Issue 10, items 4 and 6, at the Host: a write whose content does not arrive
// whole never replaces the file; a NUL byte in a command is refused before
// anything runs, naming the playbook line; a command too long for one argument
// is sent on standard input, and a cut one never runs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeConnection } from '../../src/connection/fake.ts'
import { LocalConnection } from '../../src/connection/local.ts'
import { ConfigError } from '../../src/errors.ts'
import { ShellCommand } from '../../src/shell.ts'
import { ARGUMENT_LIMIT, Host, scriptOnStdin, writeFileCommand, writeFileStdin } from '../../src/host.ts'

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-host-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const local = new LocalConnection()
const temps = () => readdirSync(dir).filter((f) => f.startsWith('.berth'))

// ---- item 4: a write is all or nothing ----

test('writeFileCommand: content cut short (a dropped channel ends `cat` early) leaves the old file and no temp file', async () => {
  const path = join(dir, 'target')
  writeFileSync(path, 'old\n')
  const content = Buffer.alloc(3_000_000, 'n')
  const full = writeFileStdin(content)
  const cut = await local.exec(writeFileCommand(path).text, { stdin: full.subarray(0, 1_000_000) })
  assert.is(cut.code, 5, cut.stderr)
  assert.match(cut.stderr, /only \d+ of 3000000 bytes arrived for .*target \(the connection was cut\?\); it was not changed/)
  assert.is(readFileSync(path, 'utf8'), 'old\n')
  assert.equal(temps(), [])
  // The same with a new file: nothing appears.
  const fresh = join(dir, 'fresh')
  assert.is((await local.exec(writeFileCommand(fresh).text, { stdin: full.subarray(0, 10) })).code, 5)
  assert.not.ok(existsSync(fresh))
  // All of it: written.
  const ok = await local.exec(writeFileCommand(path, { mode: '0600' }).text, { stdin: full })
  assert.is(ok.code, 0, ok.stderr)
  assert.ok(readFileSync(path).equals(content))
  assert.equal(temps(), [])
})

test('writeFileCommand: the right size with other bytes (or no header at all) does not replace the file either', async () => {
  const path = join(dir, 'target')
  writeFileSync(path, 'old\n')
  const header = writeFileStdin(Buffer.from('good\n')).subarray(0, -5)
  const wrong = await local.exec(writeFileCommand(path).text, { stdin: Buffer.concat([header, Buffer.from('evil\n')]) })
  assert.is(wrong.code, 5)
  assert.match(wrong.stderr, /does not match its sha256/)
  const bare = await local.exec(writeFileCommand(path).text, { stdin: 'just content\n' })
  assert.is(bare.code, 5)
  assert.match(bare.stderr, /does not start with the size and sha256/)
  const empty = await local.exec(writeFileCommand(path).text, { stdin: '' })
  assert.is(empty.code, 5)
  assert.match(empty.stderr, /no content arrived/)
  assert.is(readFileSync(path, 'utf8'), 'old\n')
  assert.equal(temps(), [])
})

test('host.writeFile sends the header and the content; empty content works', async () => {
  const host = new Host({ name: 'local', address: 'localhost', connection: local })
  await host.writeFile(join(dir, 'a'), 'hello\n', { mode: '0640' })
  assert.is(readFileSync(join(dir, 'a'), 'utf8'), 'hello\n')
  await host.writeFile(join(dir, 'empty'), '')
  assert.is(readFileSync(join(dir, 'empty'), 'utf8'), '')
  const fake = new FakeConnection()
  await new Host({ name: 'h', address: 'h', connection: fake }).writeFile('/etc/x', 'abc')
  assert.is(fake.commands[0]!.stdin, 'abc'.length + ' ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nabc')
})

// ---- item 6: NUL bytes and long commands ----

test('a NUL byte in a command argument is refused where the command is built (sh), at that line', () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  let err: unknown
  try {
    void host.$`printf '%s' ${'a\0b'}`
  } catch (e) {
    err = e
  }
  assert.instance(err, ConfigError)
  assert.match((err as ConfigError).message, /interpolates a string holding a NUL byte/)
  assert.match((err as ConfigError).where ?? '', /host-hardening\.test\.ts:\d+$/)
  assert.equal(fake.commands, [])
})

test('a NUL byte in a command text (no sh interpolation) is refused before anything runs, at the line that ran it', async () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  const err = await host.run(new ShellCommand("printf 'a\0b'")).then(() => undefined, (e: unknown) => e as Error)
  assert.instance(err, ConfigError)
  assert.match((err as ConfigError).message, /^h: command refused before it ran: it holds a NUL byte \(at character \d+\)/)
  assert.match((err as ConfigError).message, /a\\0b/)
  assert.match((err as ConfigError).where ?? '', /host-hardening\.test\.ts:\d+$/)
  assert.equal(fake.commands, [])
})

test('the transports refuse a NUL byte themselves, without trying', async () => {
  const err = await local.exec("printf 'a\0b'").then(() => undefined, (e: Error) => e)
  assert.match(err?.message ?? '', /NUL byte; it was not run/)
})

test('a command longer than one argument may be is sent on stdin, ahead of its own stdin', async () => {
  const fake = new FakeConnection()
  const host = new Host({ name: 'h', address: 'h', connection: fake })
  const arg = 'z'.repeat(ARGUMENT_LIMIT)
  await host.$`echo ${arg}`.stdin('own input')
  const { command, stdin } = fake.commands[0]!
  assert.ok(command.length < 500)
  assert.ok(stdin.startsWith(`echo ${arg}\n#berth-end-`))
  assert.ok(stdin.endsWith('own input'))
  // Just under the limit it stays the command line.
  await host.$`echo ${'z'.repeat(ARGUMENT_LIMIT - 100)}`
  assert.is(fake.commands[1]!.stdin, '')
})

test('scriptOnStdin runs the script in sh with the rest of stdin, exit codes and all', async () => {
  const script = `printf '%s\\n' "${'w'.repeat(200_000)}" | wc -c; read -r line; echo "got $line"; exit 3`
  const { text, stdin } = scriptOnStdin(script, 'the input\nmore\n')
  const r = await local.exec(text, { stdin })
  assert.is(r.code, 3, r.stderr)
  assert.is(r.stdout, '200001\ngot the input\n')
  const host = new Host({ name: 'local', address: 'localhost', connection: local })
  assert.is((await host.$`printf %s ${'q'.repeat(300_000)} | wc -c`).stdout.trim(), '300000')
})

test('a script on stdin that arrives cut short runs not at all (sh -s would run its first half)', async () => {
  const marker = join(dir, 'ran')
  const script = `touch '${marker}'\n: '${'p'.repeat(150_000)}'\necho done`
  const { text, stdin } = scriptOnStdin(script, undefined)
  const r = await local.exec(text, { stdin: stdin.subarray(0, stdin.length - 20) })
  assert.is(r.code, 125)
  assert.match(r.stderr, /did not arrive whole; nothing of it ran/)
  assert.not.ok(existsSync(marker))
  assert.is(r.stdout, '')
})

test.run()
