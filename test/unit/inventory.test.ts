import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../src/errors.ts'
import { Redactor } from '../../src/secrets.ts'
import { Inventory, type LoadOptions } from '../../src/inventory/inventory.ts'
import { parseKeyValues } from '../../src/inventory/extra-vars.ts'
import { encryptVault } from '../../src/inventory/vault.ts'

const FIX = 'test/fixtures/inventory'
const LAB = `${FIX}/lab/lab.yml`
const LAB_VAULT = { password: readFileSync('test/fixtures/vault/lab-password.txt', 'utf8').trim() }
const PROD_VAULT = { id: 'prod', password: readFileSync('test/fixtures/vault/prod-password.txt', 'utf8').trim() }

const load = (paths: string[], options: Partial<LoadOptions> = {}) => Inventory.load(paths, { redactor: new Redactor(), ...options })

async function loadError(paths: string[], options: Partial<LoadOptions> = {}): Promise<ConfigError> {
  try {
    await load(paths, options)
  } catch (e) {
    assert.instance(e, ConfigError, String(e))
    return e as ConfigError
  }
  assert.unreachable(`${paths.join(', ')} loaded`)
  throw new Error('unreachable')
}

function thrown(run: () => unknown): ConfigError {
  try {
    run()
  } catch (e) {
    assert.instance(e, ConfigError, String(e))
    return e as ConfigError
  }
  assert.unreachable('expected a ConfigError')
  throw new Error('unreachable')
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-inventory-'))
  try {
    await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('hosts in file order, ranges expanded, a port in the key becomes ansible_port', async () => {
  const inv = await load([LAB])
  assert.equal(
    inv.hosts().map((h) => h.name),
    ['bastion', 'web1', 'web2', 'web03.example.com', 'db1', 'db2', 'db3'],
  )
  assert.is(inv.host('web03.example.com')?.vars.ansible_port, 2222)
  assert.is(inv.host('nope'), undefined)
  assert.equal(inv.sources, [LAB])
})

test('nested groups: members include child groups; a group may have two parents', async () => {
  const inv = await load([LAB])
  const cases: [group: string, hosts: string[]][] = [
    ['all', ['bastion', 'web1', 'web2', 'web03.example.com', 'db1', 'db2', 'db3']],
    ['harbor', ['web1', 'web2', 'web03.example.com', 'db1', 'db2', 'db3']],
    ['pg', ['db1', 'db2', 'db3']],
    ['pg_standby', ['db2', 'db3']],
    ['monitoring', ['db1', 'db2', 'db3']],
    ['backup', ['db2']],
    ['ungrouped', ['bastion']],
    ['empty_group', []],
  ]
  for (const [group, hosts] of cases) assert.equal(inv.group(group), hosts, group)
  assert.equal(inv.groupNames(), ['all', 'harbor', 'web', 'pg', 'pg_primary', 'pg_standby', 'backup', 'monitoring', 'empty_group', 'ungrouped'])
  // Every group, ancestors included, in precedence order (depth, then name).
  assert.equal(inv.host('db2')?.groups, ['all', 'backup', 'harbor', 'monitoring', 'pg', 'pg_standby'])
  assert.equal(inv.host('bastion')?.groups, ['all', 'ungrouped'])
})

test('one() and addresses()', async () => {
  const inv = await load([LAB])
  assert.is(inv.one('pg_primary').name, 'db1')
  assert.equal(inv.addresses('pg'), ['10.0.0.11', '10.0.0.12', '10.0.0.13'])
  assert.equal(inv.addresses('web'), ['web1', 'web2', 'web03.example.com'])
  assert.ok(thrown(() => inv.one('pg_standby')).message.includes("group 'pg_standby' must have exactly one host, it has 2: db2, db3"))
  assert.ok(thrown(() => inv.one('empty_group')).message.includes('it has 0'))
  const unknown = thrown(() => inv.group('pgg'))
  assert.ok(unknown.message.includes(`no group named 'pgg' in ${LAB}`))
  assert.ok(unknown.hint?.includes("did you mean 'pg'?"))
})

test('top-level groups without all: they go under all; ungrouped is a group', async () => {
  const inv = await load([`${FIX}/toplevel/groups.yml`])
  assert.equal(inv.group('all'), ['w1', 'w2', 'd1', 'lonely'])
  assert.equal(inv.group('ungrouped'), ['lonely'])
  assert.equal(inv.host('w1')?.groups, ['all', 'web'])
  assert.is(inv.host('d1')?.vars.role, 'db')
})

test('precedence: each level beats the one before (Ansible order, checked with ansible-inventory)', async () => {
  const extraVars = [parseKeyValues('v8=L8-first-e v9=L8-first-e'), parseKeyValues('v9=L9-second-e')]
  const vars = (await load([`${FIX}/precedence/inv.yml`], { extraVars })).host('h1')?.vars ?? {}
  const levels: [variable: string, winner: string, beats: string][] = [
    ['v1', 'L1 parent inventory', 'all group, inventory file'],
    ['v2', 'L2 child inventory', 'parent group, inventory file'],
    ['v3', 'L3 group_vars/all', 'child group, inventory file'],
    ['v4', 'L4 group_vars/parent', 'group_vars/all'],
    ['v5', 'L5 group_vars/child', 'group_vars/parent'],
    ['v6', 'L6 host inventory', 'group_vars/child'],
    ['v7', 'L7 host_vars/h1', 'host, inventory file'],
    ['v8', 'L8-first-e', 'host_vars/h1'],
    ['v9', 'L9-second-e', 'first -e'],
  ]
  for (const [variable, winner, beats] of levels) assert.is(vars[variable], winner, `${variable}: ${winner} must beat ${beats}`)
})

test('precedence: same-depth groups by priority then name; dicts are replaced, not merged', async () => {
  const vars = (await load([`${FIX}/precedence/inv.yml`])).host('h1')?.vars ?? {}
  assert.is(vars.sibling, 'zeta', 'zeta merges after alpha')
  assert.is(vars.prio, 'a_high', 'ansible_group_priority 10 beats the default 1 despite the name')
  assert.not.ok('ansible_group_priority' in vars, 'a priority, not a variable')
  assert.equal(vars.replaced_dict, { b: 3 }, "hash_behaviour=replace: host_vars' dict replaces the group's")
})

test('group_vars: NAME.yml, NAME without extension, and a NAME/ folder merged in name order', async () => {
  const inv = await load([LAB])
  const web = inv.host('web1')?.vars ?? {}
  // 10-base.yml (tls false, workers 2) < 20-tls.yaml (tls true) < sub/30-sized.json (workers 8);
  // .hidden.yml, 40-backup.yml~ and README.md are skipped.
  assert.is(web.tls, true)
  assert.is(web.workers, 8)
  assert.not.ok('not' in web)
  assert.is(web.http_port, 80)
  assert.is(web.ntp_server, 'ntp.lab.internal', 'group_vars/all.yml beats the inventory file')
  assert.is(web.ansible_user, 'root')
  assert.is((await load([`${FIX}/precedence/inv.yml`])).host('h1')?.vars.v5, 'L5 group_vars/child', 'a file without extension')
})

test('host_vars beat group_vars; -e beats host_vars; a dotted -e key keeps the rest of the dict', async () => {
  const plain = await load([LAB])
  assert.equal(plain.host('db1')?.vars.pg, { port: 5433 }, 'host_vars/db1.yml replaces pg as a whole')
  assert.equal(plain.host('db2')?.vars.pg, { port: 5432, version: 15, password: 'lab-pg-password' })
  assert.is(plain.host('db1')?.vars.primary, true)

  const inv = await load([LAB], { extraVars: [parseKeyValues('pg.port=6000 ntp_server=ntp.cli'), { timezone: 'Europe/Paris' }] })
  assert.equal(inv.host('db2')?.vars.pg, { port: '6000', version: 15, password: 'lab-pg-password' })
  assert.equal(inv.host('db1')?.vars.pg, { port: '6000' })
  assert.is(inv.host('bastion')?.vars.ntp_server, 'ntp.cli')
  assert.is(inv.host('web1')?.vars.timezone, 'Europe/Paris')
})

test('varSource tells where a value came from', async () => {
  const inv = await load([LAB], { extraVars: [parseKeyValues('timezone=CET')] })
  const cases: [host: string, path: string, source: string | undefined][] = [
    ['db1', 'pg.port', `${FIX}/lab/host_vars/db1.yml:1`],
    ['db2', 'pg', `${FIX}/lab/group_vars/pg.yml:1`],
    ['web1', 'http_port', `${LAB}:18`],
    ['web03.example.com', 'ansible_port', `${LAB}:16`],
    ['web1', 'workers', `${FIX}/lab/group_vars/web/sub/30-sized.json:1`],
    ['web1', 'timezone', '-e'],
    ['web1', 'nothing', undefined],
  ]
  for (const [host, path, source] of cases) assert.is(inv.varSource(host, path), source, `${host} ${path}`)
})

test('each host has its own copy of the variables', async () => {
  const inv = await load([LAB])
  const db2 = inv.host('db2')?.vars.pg as Record<string, unknown>
  db2.port = 1
  assert.is((inv.host('db3')?.vars.pg as Record<string, unknown>).port, 5432)
})

test('several -i merge: later sources win, each with its own group_vars', async () => {
  const inv = await load([`${FIX}/multi/a/inv.yml`, `${FIX}/multi/b/inv.yml`])
  assert.equal(
    inv.hosts().map((h) => h.name),
    ['shared', 'a_host', 'b_host'],
  )
  const shared = inv.host('shared')?.vars ?? {}
  assert.is(shared.from, 'b')
  assert.is(shared.only_a, true)
  assert.is(shared.site, 'b')
  assert.is(shared.site_a_only, true)
  assert.equal(inv.host('shared')?.groups, ['all', 'bgroup'])
  assert.equal(inv.group('ungrouped'), ['a_host'])
})

test('select: patterns, --limit errors listing groups and hosts', async () => {
  const inv = await load([LAB])
  const names = (pattern: string) => inv.select(pattern).map((h) => h.name)
  assert.equal(names('pg:&backup'), ['db2'])
  assert.equal(names('harbor:!pg'), ['web1', 'web2', 'web03.example.com'])
  assert.equal(names('db*'), ['db1', 'db2', 'db3'])
  assert.equal(names('web:bastion'), ['bastion', 'web1', 'web2', 'web03.example.com'])
  const limit = thrown(() => inv.select('pg_primry', '--limit'))
  assert.is(
    limit.message,
    `--limit: no host or group named 'pg_primry' in ${LAB} (groups: harbor, web, pg, pg_primary, pg_standby, backup, monitoring, empty_group; hosts: bastion, web1, web2, web03.example.com, db1, db2, db3)`,
  )
  assert.is(limit.hint, "did you mean 'pg_primary'?")
  assert.ok(thrown(() => inv.select('web:x*')).message.startsWith("host pattern 'web:x*': no host or group named 'x*'"))
})

test('localhost: implicit when absent (local connection, all vars), as written when present', async () => {
  const lab = await load([LAB])
  const implicit = lab.select('localhost')
  assert.equal(implicit.map((h) => h.name), ['localhost'])
  assert.is(implicit[0]?.vars.ansible_connection, 'local')
  assert.is(implicit[0]?.vars.ntp_server, 'ntp.lab.internal')
  assert.equal(implicit[0]?.groups, [])
  assert.not.ok(lab.select('all').some((h) => h.name === 'localhost'), "not part of 'all'")
  assert.is(lab.host('localhost')?.vars.ansible_connection, 'local')

  const named = await load([`${FIX}/toplevel/localhost.yml`])
  assert.is(named.host('localhost')?.vars.ansible_connection, undefined)
  assert.equal(named.group('all'), ['localhost', 'other'])
})

test('Inventory.localhost: one local host, extra vars applied', () => {
  const inv = Inventory.localhost({ redactor: new Redactor(), extraVars: [parseKeyValues('a.b=1')] })
  assert.equal(inv.hosts(), [{ name: 'localhost', vars: { ansible_connection: 'local', a: { b: '1' } }, groups: ['all', 'ungrouped'] }])
  assert.equal(inv.select('all').map((h) => h.name), ['localhost'])
  assert.ok(thrown(() => inv.select('web')).message.includes('the implicit localhost inventory'))
})

test('malformed inventories: ConfigError at file:line', async () => {
  const M = `${FIX}/malformed`
  const cases: [file: string, where: string, message: string][] = [
    ['bad-yaml.yml', `${M}/bad-yaml.yml:6`, 'YAML error: Flow map in block collection must be sufficiently indented and end with a }'],
    ['duplicate-host.yml', `${M}/duplicate-host.yml:3`, 'Map keys must be unique'],
    ['host-not-map.yml', `${M}/host-not-map.yml:5`, "host 'web1' in group 'web': its variables must be a map (or nothing), found the text '10.0.0.5'"],
    ['children-not-map.yml', `${M}/children-not-map.yml:4`, "group 'harbor': children must be a map of groups, found a list"],
    ['hosts-list.yml', `${M}/hosts-list.yml:4`, "group 'web': hosts must be a map of host names, found a list"],
    ['unknown-key.yml', `${M}/unknown-key.yml:4`, "group 'web': unknown key 'host'"],
    ['vars-at-group-level.yml', `${M}/vars-at-group-level.yml:6`, "group 'web': unknown key 'http_port'"],
    ['group-loop.yml', `${M}/group-loop.yml:7`, "group 'a' cannot be a child of 'b'"],
    ['lab.ini.yml', `${M}/lab.ini.yml:2`, 'this looks like an INI inventory'],
    ['top-list.yml', `${M}/top-list.yml:1`, 'an inventory is a map of groups'],
  ]
  for (const [file, where, message] of cases) {
    const error = await loadError([`${M}/${file}`])
    assert.is(error.where, where, file)
    assert.ok(error.message.includes(message), `${file}: ${error.message}`)
  }
  assert.is((await loadError([`${M}/unknown-key.yml`])).hint, "did you mean 'hosts'?")
})

test('a missing inventory names the path', async () => {
  const error = await loadError(['inventory/nope.yml'])
  assert.is(error.message, 'inventory inventory/nope.yml does not exist')
})

test('more structure errors (table)', async () => {
  await withTempDir(async (dir) => {
    const cases: [yaml: string, line: number, message: string][] = [
      ['all:\n  children:\n    web: [a]\n', 3, "group 'web' must be a map with hosts, vars or children, found a list"],
      ['all:\n  vars:\n    - a\n', 2, "group 'all': vars must be a map of variables, found a list"],
      ['all:\n  children:\n    x:\n      children:\n        all:\n', 5, "group 'all' cannot be a child"],
      ['all:\n  hosts:\n    web[3:1]:\n', 3, 'the range must have begin <= end'],
      ['all:\n  hosts:\n    web[1:x]:\n', 3, 'range bounds must be numbers or single letters'],
      ['all:\n  hosts:\n    web[1]:\n', 3, 'a range must be written [begin:end]'],
      ['all:\n  hosts:\n    web[01:3]:\n', 3, 'same length'],
      ['all:\n  vars:\n    ansible_group_priority: high\n', 3, 'ansible_group_priority must be an integer'],
    ]
    for (const [i, [yaml, line, message]] of cases.entries()) {
      const file = join(dir, `case${i}.yml`)
      await writeFile(file, yaml)
      const error = await loadError([file])
      assert.is(error.where, `${file}:${line}`, yaml)
      assert.ok(error.message.includes(message), `${yaml}: ${error.message}`)
    }
  })
})

test('host ranges: numeric, zero-padded, stepped, letters', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'ranges.yml')
    await writeFile(file, 'all:\n  hosts:\n    web[01:03]:\n    db[1:5:2].lab:\n    "[a:c]-node":\n    edge:2200:\n')
    const inv = await load([file])
    assert.equal(
      inv.hosts().map((h) => h.name),
      ['web01', 'web02', 'web03', 'db1.lab', 'db3.lab', 'db5.lab', 'a-node', 'b-node', 'c-node', 'edge'],
    )
    assert.is(inv.host('edge')?.vars.ansible_port, 2200)
  })
})

test("Ansible's shorthands: hosts and children as one name; group_vars/NAME/ found first wins over NAME.yml", async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'group_vars', 'all'), { recursive: true })
    await writeFile(join(dir, 'inv.yml'), 'all:\n  hosts: h1\n  children:\n    web:\n      hosts: h2\n      children: api\n    api:\n      hosts: {h3: }\n')
    await writeFile(join(dir, 'group_vars', 'all', 'a.yml'), 'from_folder: 1\n')
    await writeFile(join(dir, 'group_vars', 'all.yml'), 'from_yml: 1\n')
    const inv = await load([join(dir, 'inv.yml')])
    assert.equal(inv.group('web'), ['h2', 'h3'])
    assert.equal(inv.group('ungrouped'), ['h1'])
    // As ansible-inventory: NAME, NAME.yml, NAME.yaml, NAME.json are tried in turn and the first found is used.
    assert.equal(inv.host('h1')?.vars, { from_folder: 1 })
  })
})

test('a folder of inventories and a host list are sources too', async () => {
  const folder = await load([`${FIX}/toplevel`])
  assert.equal(
    folder.hosts().map((h) => h.name),
    ['w1', 'w2', 'd1', 'lonely', 'localhost', 'other'],
  )
  const list = await load(['10.0.0.5,web1,'])
  assert.equal(
    list.hosts().map((h) => h.name),
    ['10.0.0.5', 'web1'],
  )
  assert.equal(list.group('ungrouped'), ['10.0.0.5', 'web1'])
})

test('vault: whole-file group_vars, inline !vault, 1.2 vault id; every decrypted value is masked', async () => {
  const redactor = new Redactor()
  const inv = await Inventory.load([`${FIX}/vaulted/inv.yml`], { redactor, vaultPasswords: [LAB_VAULT, PROD_VAULT] })
  const db1 = inv.host('db1')?.vars ?? {}
  assert.is(db1.db_password, 'inline-s3cr3t-value')
  assert.equal(db1.replication, { user: 'replicator', password: 'r3pl-s3cr3t-password' })
  assert.is(db1.backup_key, 'backup-key-s3cr3t')
  assert.is(db1.prod_token, 'prod-only-s3cr3t')
  assert.is(db1.db_user, 'harbor')
  assert.is(db1.plain_host_var, 'visible')
  const line = `psql password=${db1.db_password} repl=${(db1.replication as { password: string }).password} key=${db1.backup_key} token=${db1.prod_token} user=${db1.db_user}`
  assert.is(redactor.mask(line), 'psql password=******** repl=******** key=******** token=******** user=harbor')
})

test('vault: no password, or a wrong one, is a ConfigError naming file:line', async () => {
  const none = await loadError([`${FIX}/vaulted/inv.yml`])
  assert.is(none.message, `${FIX}/vaulted/inv.yml:11 is vault-encrypted`)
  assert.is(none.hint, 'give --vault-password-file FILE or set BERTH_VAULT_PASSWORD')
  const wrongId = await loadError([`${FIX}/vaulted/inv.yml`], { vaultPasswords: [LAB_VAULT] })
  assert.is(wrongId.message, `wrong vault password for ${FIX}/vaulted/host_vars/db1.yml:2`)
  const wrong = await loadError([`${FIX}/vaulted/inv.yml`], { vaultPasswords: [{ password: 'nope' }] })
  assert.ok(wrong.message.startsWith('wrong vault password for '))
})

test('vault: an inventory may name its own password file (berth_vault_password_file), used only when none is given', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'group_vars'))
    await writeFile(join(dir, 'pw.txt'), 'named-by-inventory\n')
    await writeFile(join(dir, 'inv.yml'), 'all:\n  vars:\n    berth_vault_password_file: pw.txt\n  hosts:\n    h1:\n')
    await writeFile(join(dir, 'group_vars', 'all.yml'), encryptVault('token: opened-by-the-named-file\n', 'named-by-inventory'))
    const redactor = new Redactor()
    const inv = await Inventory.load([join(dir, 'inv.yml')], { redactor })
    assert.is(inv.host('h1')?.vars.token, 'opened-by-the-named-file')
    assert.is(redactor.mask('named-by-inventory opened-by-the-named-file'), '******** ********', 'the password and the values are masked')
    // A password given on the command line wins: the named file is not read.
    const wrong = await loadError([join(dir, 'inv.yml')], { vaultPasswords: [{ password: 'given-on-the-command-line' }] })
    assert.ok(wrong.message.startsWith('wrong vault password for '), wrong.message)
    await writeFile(join(dir, 'inv.yml'), 'all:\n  vars:\n    berth_vault_password_file: missing.txt\n  hosts:\n    h1:\n')
    const missing = await loadError([join(dir, 'inv.yml')])
    assert.match(missing.describe(), /missing\.txt/)
  })
})

test('a YAML error inside a vaulted file does not print its plaintext', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'group_vars'))
    await writeFile(join(dir, 'inv.yml'), 'all:\n  hosts:\n    h1:\n')
    await writeFile(join(dir, 'group_vars', 'all.yml'), encryptVault('ok: 1\nleaky: [s3cret-in-broken-yaml\n', LAB_VAULT.password))
    const error = await loadError([join(dir, 'inv.yml')], { vaultPasswords: [LAB_VAULT] })
    assert.ok(error.where?.startsWith(join(dir, 'group_vars', 'all.yml:')), error.where)
    assert.not.ok(error.describe().includes('s3cret-in-broken-yaml'), error.describe())
  })
})

test('a group_vars file that is not a map is an error; an empty one is fine', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'group_vars'))
    await writeFile(join(dir, 'inv.yml'), 'all:\n  hosts:\n    h1:\n')
    await writeFile(join(dir, 'group_vars', 'all.yml'), '')
    assert.equal((await load([join(dir, 'inv.yml')])).host('h1')?.vars, {})
    await writeFile(join(dir, 'group_vars', 'all.yml'), '- a\n')
    const error = await loadError([join(dir, 'inv.yml')])
    assert.is(error.where, `${join(dir, 'group_vars', 'all.yml')}:1`)
    assert.ok(error.message.includes('must be a map of variables, found a list'))
  })
})

test('YAML 1.1 as Ansible (PyYAML): yes/no/on/off are booleans, y/n and dates stay strings, 0644 is octal', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'inv.yml')
    await writeFile(file, 'all:\n  hosts:\n    h1:\n      a: yes\n      b: off\n      c: y\n      d: n\n      e: 2024-01-31\n      f: 0644\n      g: "0644"\n')
    const vars = (await load([file])).host('h1')?.vars
    assert.equal(vars, { a: true, b: false, c: 'y', d: 'n', e: '2024-01-31', f: 420, g: '0644' })
  })
})

test.run()
