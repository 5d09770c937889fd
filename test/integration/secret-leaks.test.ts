// Zero leaks: hostile vaulted secrets go through every output a run has (text
// at each verbosity, --json, --diff, --check, --list-tasks, --list-hosts, a
// failing command that echoes a secret on stderr, an exception thrown from
// playbook code, `host.$` outside a play) and each output is searched for every
// secret in every form it can take on its way out: as is, shell-quoted, escaped
// for double quotes, JSON-escaped, URL-encoded, base64, HTML-escaped (ejs), and
// line by line for a multi-line secret. Values under 3 characters are not
// secrets by design (they would mask noise) and are not used here.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { playbook, type Playbook } from '../../src/playbook.ts'
import { copy, command } from '../../src/resources/index.ts'
import { encryptVault } from '../../src/inventory/vault.ts'
import { sh, quote } from '../../src/shell.ts'

const SECRETS = {
  quote: "it's-a-s3cret",
  backslash: 'back\\slash\\\\two\\',
  dollar: 'd0llar$HOME$(id)`uname`',
  regex: 're.*+?^${}()|[]x',
  multi: 'first-line-of-key\nxyz12\nQv9\nlast-line-of-the-key',
  unicode: 'pässwörd-ünï€-9',
  prefix: 'berthpass',
  spaces: 'say "hi" & <now>',
}
type Secrets = typeof SECRETS

/** Every text form a secret can take on its way to an output. */
function encodings(value: string): string[] {
  const forms = [
    value,
    quote(value),
    value.replace(/'/g, `'\\''`),
    value.replace(/["$`\\]/g, '\\$&'),
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    Buffer.from(value).toString('base64'),
    value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
    ...(value.includes('\n') ? value.split('\n') : []),
  ]
  return [...new Set(forms)].filter((f) => f.length >= 3)
}

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-leaks-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const PASSWORD = 'leak-test-vault-password'

function inventory(): string {
  const path = join(dir, 'hosts.yml')
  writeFileSync(path, 'all:\n  hosts:\n    box:\n      ansible_connection: local\n')
  mkdirSync(join(dir, 'group_vars'))
  writeFileSync(join(dir, 'group_vars', 'all.yml'), encryptVault(stringify({ s: SECRETS }), PASSWORD))
  writeFileSync(join(dir, 'vault-pass'), PASSWORD + '\n')
  return path
}

async function run(argv: string[], body: (pb: Playbook) => Promise<void>): Promise<{ code: number; text: string }> {
  let text = ''
  const code = await playbook('leaks', body, {
    argv: ['-i', inventory(), '--vault-password-file', join(dir, 'vault-pass'), ...argv],
    out: (t) => void (text += t),
    err: (t) => void (text += t),
    setExitCode: false,
    sshConfigPath: '/dev/null',
  })
  rmSync(join(dir, 'group_vars'), { recursive: true, force: true })
  return { code, text }
}

/** A file holding every secret on lines of its own, one setting changed between `version`s. */
const fileContent = (s: Secrets, version: number): string =>
  [`version=${version}`, ...Object.entries(s).map(([k, v]) => `${k}=${v}`), s.multi, `end=${version}`, ''].join('\n')

const site =
  (root: string, version: number, extra: 'none' | 'fail' | 'throw' | 'dollar' = 'none') =>
  async (pb: Playbook): Promise<void> => {
    await pb.play('site', 'all', (h) => {
      const s = h.need<Secrets>('s')
      const all = Object.values(s)
      return [
        copy({ path: join(root, 'secrets.conf'), content: fileContent(s, version), mode: '0600' }).named(`secrets file for ${s.quote} and ${s.unicode}`),
        command(sh`echo ${all}`).named(`echo ${s.spaces}`),
        command(sh`printf %s ${all.join('|')} | base64 -w0`).named('base64 of them').readOnly(),
        command(sh`printf %s ${s.multi} | base64 -w0`).named('base64 of the key').readOnly(),
        command(sh`echo ${`postgresql://harbor:${encodeURIComponent(s.unicode)}@db1/registry`}`).named('a conninfo URL'),
        command(sh`echo ${`host=db1 password='${s.backslash.replace(/['\\]/g, '\\$&')}'`}`).named('a conninfo string'),
        ...(extra === 'fail' ? [command(sh`echo connecting with ${s.quote} ${s.multi} >&2; exit 3`).named(`fail with ${s.regex}`)] : []),
      ]
    })
    if (extra === 'throw') throw new Error(`playbook code failed with ${pb.host('box').need<Secrets>('s').regex} and ${pb.host('box').need<Secrets>('s').quote}`)
    if (extra === 'dollar') await pb.host('box').$`echo ${pb.host('box').need<Secrets>('s').quote} >&2; exit 4`
  }

function leaks(output: string): string[] {
  const found: string[] = []
  for (const [name, value] of Object.entries(SECRETS)) for (const form of encodings(value)) if (output.includes(form)) found.push(`${name} as ${JSON.stringify(form)}`)
  return found
}

test('hostile secrets never appear, in any form, in any output', async () => {
  const root = join(dir, 'out')
  mkdirSync(root)
  const outputs: [string, { code: number; text: string }][] = []
  outputs.push(['--list-tasks', await run(['--list-tasks'], site(root, 1))])
  outputs.push(['--list-hosts', await run(['--list-hosts'], site(root, 1))])
  outputs.push(['--check --diff -vv on a fresh host', await run(['--check', '--diff', '-vv'], site(root, 1))])
  outputs.push(['first run', await run([], site(root, 1))])
  outputs.push(['-v', await run(['-v'], site(root, 1))])
  outputs.push(['--diff -vv with a change', await run(['--diff', '-vv'], site(root, 2))])
  outputs.push(['--json --diff -vv with a change', await run(['--json', '--diff', '-vv'], site(root, 3))])
  outputs.push(['a failing command, -vv', await run(['-vv'], site(root, 3, 'fail'))])
  outputs.push(['a failing command, --json', await run(['--json'], site(root, 3, 'fail'))])
  outputs.push(['an exception from playbook code', await run([], site(root, 3, 'throw'))])
  outputs.push(['an exception from playbook code, -vv', await run(['-vv'], site(root, 3, 'throw'))])
  outputs.push(['host.$ outside a play', await run(['-vv'], site(root, 3, 'dollar'))])
  outputs.push(['host.$ outside a play, --json', await run(['--json'], site(root, 3, 'dollar'))])

  // The runbook, of a real run and of a failing one: variables in place of the secrets.
  const runbook = async (what: string, argv: string[], body: (pb: Playbook) => Promise<void>): Promise<string> => {
    const file = join(dir, `runbook-${outputs.length}.md`)
    const r = await run([...argv, '--runbook', file], body)
    const text = readFileSync(file, 'utf8')
    outputs.push([what, r], [`${what}: the runbook`, { code: r.code, text }])
    return text
  }
  const written = await runbook('--runbook with a change', [], site(root, 4))
  await runbook('--runbook of a failing run, --check', ['--check'], site(root, 5, 'fail'))

  const report = outputs.flatMap(([what, r]) => leaks(r.text).map((l) => `${what}: ${l}`))
  assert.equal(report, [], `leaks:\n${report.join('\n')}`)

  // The runs did what they should, so the outputs above are worth searching.
  const byName = new Map(outputs)
  assert.is(byName.get('first run')?.code, 0, byName.get('first run')?.text)
  assert.match(byName.get('--list-tasks')?.text ?? '', /secrets file for \*{8} and \*{8}/)
  assert.match(byName.get('--diff -vv with a change')?.text ?? '', /-version=1\n\+version=2/)
  assert.is(byName.get('a failing command, -vv')?.code, 2)
  assert.match(byName.get('a failing command, -vv')?.text ?? '', /connecting with \*{8}/)
  assert.is(byName.get('an exception from playbook code')?.code, 1)
  assert.match(byName.get('an exception from playbook code')?.text ?? '', /playbook code failed with \*{8} and \*{8}/)
  assert.match(byName.get('host.$ outside a play')?.text ?? '', /exited with code 4/)
  assert.match(written, /^quote=\$\{S_QUOTE\}$/m)
  assert.match(written, /`S_QUOTE` \(box\)/)
})

test.run()
