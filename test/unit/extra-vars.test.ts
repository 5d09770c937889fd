import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '../../src/errors.ts'
import { Redactor } from '../../src/secrets.ts'
import { applyExtraVars, isLeafOverride, parseExtraVars, parseKeyValues } from '../../src/inventory/extra-vars.ts'
import { encryptVault } from '../../src/inventory/vault.ts'

const LAB_PASSWORD = readFileSync('test/fixtures/vault/lab-password.txt', 'utf8').trim()
const parse = (values: string[], cwd = process.cwd(), redactor = new Redactor()) => parseExtraVars(values, cwd, [{ password: LAB_PASSWORD }], redactor)

test('key=value pairs: strings, quotes honoured, dotted keys nest', () => {
  const cases: [input: string, expected: Record<string, unknown>][] = [
    ['version=1.2', { version: '1.2' }],
    ['a=1 b=two', { a: '1', b: 'two' }],
    ['msg="hello world" n=3', { msg: 'hello world', n: '3' }],
    ["msg='it is \"quoted\"'", { msg: 'it is "quoted"' }],
    ['msg="say \\"hi\\"\\nbye"', { msg: 'say "hi"\nbye' }],
    ['empty=', { empty: '' }],
    ['url=http://x/?a=b', { url: 'http://x/?a=b' }],
    ['flag=true', { flag: 'true' }],
    ['  spaced=1   other=2  ', { spaced: '1', other: '2' }],
    ['pg.port=5433', { pg: { port: '5433' } }],
    ['pg.port=5433 pg.host=db1 a.b.c=deep', { pg: { port: '5433', host: 'db1' }, a: { b: { c: 'deep' } } }],
    ['x=1 x=2', { x: '2' }],
    ['half="quoted"tail', { half: '"quoted"tail' }],
  ]
  for (const [input, expected] of cases) assert.equal(parseKeyValues(input), expected, input)
})

test('bad key=value input is a ConfigError', () => {
  const cases: [input: string, message: string][] = [
    ['justaword', "'justaword' is not key=value"],
    ['=value', "'=value' is not key=value"],
    ['pg..port=1', "'pg..port' is not a variable name"],
    ['.port=1', "'.port' is not a variable name"],
    ['msg="unclosed', 'double quote is not closed'],
  ]
  for (const [input, message] of cases)
    try {
      parseKeyValues(input)
      assert.unreachable(input)
    } catch (e) {
      assert.instance(e, ConfigError)
      assert.ok((e as ConfigError).message.includes(message), (e as ConfigError).message)
    }
})

test('parseExtraVars: one object per -e, in order; JSON/YAML literals; empty values skipped', async () => {
  const parsed = await parse(['a=1', '{"replicas": 2, "pg": {"port": 5433}}', '', '{tags: [a, b]}'])
  assert.equal(parsed, [{ a: '1' }, { replicas: 2, pg: { port: 5433 } }, { tags: ['a', 'b'] }])
  // A literal replaces pg as a whole (Ansible); only dotted keys override leaves.
  assert.not.ok(isLeafOverride(parsed[1]?.pg))
})

test('@file: YAML or JSON, relative to cwd, vault-encrypted or with !vault values; secrets registered', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-extra-'))
  try {
    await writeFile(join(dir, 'vars.yml'), 'release: "2.10"\nports: [80, 443]\n')
    await writeFile(join(dir, 'vars.json'), '{"json": true}')
    await writeFile(join(dir, 'secret.yml'), encryptVault('api_token: tok-very-s3cret\n', LAB_PASSWORD))
    const inline = encryptVault('inline-s3cret-value', LAB_PASSWORD).trimEnd().replace(/\n/g, '\n  ')
    await writeFile(join(dir, 'inline.yml'), `db_password: !vault |\n  ${inline}\nuser: plain\n`)
    await writeFile(join(dir, 'empty.yml'), '')
    const redactor = new Redactor()
    const parsed = await parse(['@vars.yml', '@vars.json', '@secret.yml', `@${join(dir, 'inline.yml')}`, '@empty.yml'], dir, redactor)
    assert.equal(parsed, [
      { release: '2.10', ports: [80, 443] },
      { json: true },
      { api_token: 'tok-very-s3cret' },
      { db_password: 'inline-s3cret-value', user: 'plain' },
      {},
    ])
    assert.is(redactor.mask('tok-very-s3cret inline-s3cret-value plain'), '******** ******** plain')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('-e errors name the value or file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-extra-'))
  try {
    await writeFile(join(dir, 'list.yml'), '- a\n- b\n')
    await writeFile(join(dir, 'broken.yml'), 'a: [1, 2\nb: 3\n')
    await writeFile(join(dir, 'secret.yml'), encryptVault('a: 1\n', 'another-password'))
    const cases: [value: string, parts: string[]][] = [
      ['@missing.yml', ['missing.yml does not exist']],
      ['@list.yml', ['-e @list.yml: expected variables', 'found a list', 'list.yml:1']],
      ['@broken.yml', ['broken.yml:', 'YAML error']],
      ['@secret.yml', ['wrong vault password for secret.yml']],
      ['@', ["a file name must follow '@'"]],
      ['./vars.yml', ["needs '@' in front", '-e @./vars.yml']],
      ['/etc/vars.yml', ["needs '@' in front"]],
      ['[1, 2]', ['found a list']],
      ['{a: [}', ['-e:1', 'YAML error']],
    ]
    for (const [value, parts] of cases)
      await parse([value], dir).then(
        () => assert.unreachable(value),
        (e: unknown) => {
          assert.instance(e, ConfigError, value)
          for (const part of parts) assert.ok((e as ConfigError).describe().includes(part), `${value}: ${(e as ConfigError).describe()}`)
        },
      )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('applyExtraVars: top-level keys replace; dotted keys change only their leaf', () => {
  const base = () => ({ pg: { port: 5432, password: 'from-vault', tuning: { shared_buffers: '1GB', work_mem: '4MB' } }, app: { a: 1 }, name: 'x' })
  const cases: [extra: Record<string, unknown>, expected: Record<string, unknown>][] = [
    [parseKeyValues('pg.port=5433'), { ...base(), pg: { port: '5433', password: 'from-vault', tuning: { shared_buffers: '1GB', work_mem: '4MB' } } }],
    [parseKeyValues('pg.tuning.work_mem=64MB'), { ...base(), pg: { ...base().pg, tuning: { shared_buffers: '1GB', work_mem: '64MB' } } }],
    [parseKeyValues('name.first=a'), { ...base(), name: { first: 'a' } }],
    [parseKeyValues('new.key=v'), { ...base(), new: { key: 'v' } }],
    [{ pg: { port: 1 } }, { ...base(), pg: { port: 1 } }],
    [parseKeyValues('app=replaced'), { ...base(), app: 'replaced' }],
  ]
  for (const [extra, expected] of cases) {
    const vars: Record<string, unknown> = base()
    applyExtraVars(vars, extra)
    assert.equal(vars, expected, JSON.stringify(extra))
  }
  // The base value is not mutated through the overlay.
  const shared = base()
  const vars: Record<string, unknown> = { ...shared }
  applyExtraVars(vars, parseKeyValues('pg.port=1'))
  assert.is(shared.pg.port, 5432)
})

test('paths after @ resolve against cwd', async () => {
  const parsed = await parse(['@test/fixtures/vault/whole-file.yml'], resolve('.'))
  assert.equal(parsed[0]?.replication, { user: 'replicator', password: 'r3pl-password' })
})

test.run()
