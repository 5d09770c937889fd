// Playbooks are zx scripts: zx's globals without an import, in every way of
// starting one (node --import tsx, npx tsx, the playbook's own first line, from
// any directory), loaded only when used, and never used by the engine itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { ZX_GLOBALS } from '../../src/zx-globals.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
let dir = ''

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-zx-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // As from a shell with output to a pipe: uvu sets FORCE_COLOR for itself.
  const { FORCE_COLOR: _, ...inherited } = process.env
  return new Promise((done) => {
    execFile(argv[0] as string, argv.slice(1), { cwd, env: { ...inherited, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      done({ code, stdout, stderr })
    })
  })
}

/** A playbook in the temp dir that uses zx's globals without importing them and reports what it saw. */
function globalsPlaybook(): string {
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  const file = join(dir, 'globals.ts')
  writeFileSync(
    file,
    `import { createRequire } from 'node:module'
import { playbook, copy } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))}

const zxLoadedBeforeUse = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/zx/'))

await playbook('zx globals', async (pb) => {
  const out = process.env.OUT_DIR as string
  const said = (await $\`echo \${'from zx'}\`).stdout.trim()
  await fs.outputFile(path.join(out, 'made', 'by-fs-extra.txt'), said)
  await sleep(1)
  const result = await pb.play('globals', 'all', () => [copy({ path: path.join(out, 'copied.txt'), content: \`\${said}\\n\` })])
  const zx = await import(${JSON.stringify(join(ROOT, 'node_modules', 'zx', 'build', 'index.js'))}) // zx's ESM entry: this file is outside the repository
  pb.log(JSON.stringify({
    zxLoadedBeforeUse,
    types: Object.fromEntries(['$', 'fs', 'path', 'os', 'chalk', 'sleep', 'question', 'spinner', 'echo', 'glob', 'which', 'within', 'retry', 'YAML'].map((n) => [n, typeof (globalThis as Record<string, unknown>)[n]])),
    sameAsImported: $ === zx.$ && chalk === zx.chalk && fs === zx.fs && path === zx.path,
    yaml: YAML.stringify({ a: 1 }),
    argvJson: argv.json,
    ok: result.ok,
  }))
})
`,
  )
  return file
}

function seen(r: Run): Record<string, unknown> {
  const message = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { kind: string; message?: string })
    .find((e) => e.kind === 'message')
  assert.ok(message?.message, `no message event in:\n${r.stdout}\n${r.stderr}`)
  return JSON.parse(message.message as string) as Record<string, unknown>
}

function assertGlobalsWorked(r: Run, out: string): void {
  assert.is(r.code, 0, r.stdout + r.stderr)
  assert.is(r.stderr, '', 'nothing on stderr: no node or loader warnings')
  const s = seen(r)
  assert.is(s.zxLoadedBeforeUse, false, 'zx is loaded only when a global is first read')
  assert.equal(s.types, { $: 'function', fs: 'object', path: 'object', os: 'object', chalk: 'function', sleep: 'function', question: 'function', spinner: 'function', echo: 'function', glob: 'function', which: 'function', within: 'function', retry: 'function', YAML: 'object' })
  assert.is(s.sameAsImported, true, "the globals are the objects `import … from 'zx'` gives")
  assert.is(s.yaml, 'a: 1\n')
  assert.is(s.argvJson, true, "zx's argv parsed the playbook's command line")
  assert.is(s.ok, true)
  assert.is(readFileSync(join(out, 'made', 'by-fs-extra.txt'), 'utf8'), 'from zx')
  assert.is(readFileSync(join(out, 'copied.txt'), 'utf8'), 'from zx\n')
}

test('node --import tsx: a playbook uses $, fs, path, sleep, YAML, chalk without importing them', async () => {
  const out = join(dir, 'out')
  const r = await run([process.execPath, '--import', 'tsx', globalsPlaybook(), '--json'], ROOT, { OUT_DIR: out })
  assertGlobalsWorked(r, out)
})

test('npx tsx: the same globals', async () => {
  const out = join(dir, 'out')
  const r = await run(['npx', 'tsx', globalsPlaybook(), '--json'], ROOT, { OUT_DIR: out })
  assertGlobalsWorked(r, out)
})

test('./playbooks/*.ts are executable and run from any directory (their first line runs node with tsx)', async () => {
  for (const name of ['hello.ts', 'ha-pg-replicated.ts']) {
    const file = join(ROOT, 'playbooks', name)
    assert.ok((statSync(file).mode & 0o111) === 0o111, `${name} is executable`)
    assert.match(readFileSync(file, 'utf8').split('\n')[0] as string, /^#!\/usr\/bin\/env -S sh -c 'exec node --import "\$\(dirname "\$\(realpath "\$0"\)"\)\/\.\.\/src\/tsx\.mjs" "\$0" "\$@"'$/)
  }
  // cwd outside the repository, where `node --import tsx` would not find tsx.
  const list = await run([join(ROOT, 'playbooks', 'hello.ts'), '--list-tasks'], dir)
  assert.is(list.code, 0, list.stdout + list.stderr)
  assert.is(list.stderr, '')
  assert.match(list.stdout, /play #1 \(all\): hello\n {2}tasks:\n(.*\n)* {4}read motd back\n/)

  // A real local run: hello's $ (whoami) and its chalk closing line are globals.
  const helloDir = join(dir, 'hello')
  const converge = await run([join(ROOT, 'playbooks', 'hello.ts'), '-e', `hello_dir=${helloDir}`], dir)
  assert.is(converge.code, 0, converge.stdout + converge.stderr)
  assert.is(converge.stderr, '')
  const user = (await run(['id', '-un'], dir)).stdout.trim()
  assert.is(readFileSync(join(helloDir, 'motd'), 'utf8'), `Hello from berth on localhost, deployed by ${user}\n`)
  assert.ok(converge.stdout.includes(`localhost: motd says: Hello from berth on localhost, deployed by ${user}\n`), converge.stdout)
})

test('ZX_GLOBALS is the list zx/globals declares', () => {
  const declared = readFileSync(join(ROOT, 'node_modules', 'zx', 'build', 'globals.d.ts'), 'utf8')
  const names = [...declared.matchAll(/^\s*var (\S+):/gm)].map((m) => m[1] as string)
  assert.equal([...ZX_GLOBALS].sort(), names.sort())
})

test('engine code (src/, roles/) uses none of the globals: it imports what it uses', () => {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (!parsed) throw new Error('tsconfig.json: unreadable')
  const roots = parsed.fileNames.filter((f) => /^(src|roles)\//.test(f.slice(ROOT.length + 1)))
  assert.ok(roots.some((f) => f.endsWith('/src/playbook.ts')))
  const program = ts.createProgram(roots, parsed.options)
  const checker = program.getTypeChecker()
  const names = new Set<string>(ZX_GLOBALS)
  const uses: string[] = []
  for (const file of roots) {
    const sf = program.getSourceFile(file)
    if (!sf) throw new Error(`${file}: not in the program`)
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && names.has(n.text)) {
        const symbol = ts.isShorthandPropertyAssignment(n.parent) ? checker.getShorthandAssignmentValueSymbol(n.parent) : checker.getSymbolAtLocation(n)
        if (symbol?.declarations?.some((d) => d.getSourceFile().fileName.endsWith('/zx/build/globals.d.ts')))
          uses.push(`${file.slice(ROOT.length + 1)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.text}`)
      }
      ts.forEachChild(n, visit)
    }
    visit(sf)
  }
  assert.equal(uses, [], `zx globals used without an import:\n${uses.join('\n')}`)
})

test.run()
