import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../src/errors.ts'
import { Redactor } from '../../src/secrets.ts'
import { VaultKeyring, decryptVault, encryptVault, isVaulted, readVaultPasswordFile } from '../../src/inventory/vault.ts'
import { VaultedScalar, YamlFile } from '../../src/inventory/yaml-file.ts'

// Fixtures made with the real ansible-vault: see test/fixtures/vault/README.md.
const FIXTURES = 'test/fixtures/vault'
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8')
const LAB = { password: readFileSync(join(FIXTURES, 'lab-password.txt'), 'utf8').trim() }
const PROD = { id: 'prod', password: readFileSync(join(FIXTURES, 'prod-password.txt'), 'utf8').trim() }

/** The vault text of a `!vault` value in an encrypt_string fixture. */
function inlineVault(name: string, key: string): string {
  const file = YamlFile.parse(fixture(name), name)
  const value = (file.toJS(file.root) as Record<string, unknown>)[key]
  assert.instance(value, VaultedScalar)
  return (value as VaultedScalar).vaulttext
}

function expectConfigError(run: () => unknown, includes: string[]): ConfigError {
  try {
    run()
  } catch (e) {
    assert.instance(e, ConfigError, String(e))
    for (const part of includes) assert.ok((e as ConfigError).describe().includes(part), `"${(e as ConfigError).describe()}" should include "${part}"`)
    return e as ConfigError
  }
  assert.unreachable('expected a ConfigError')
  throw new Error('unreachable')
}

test('decrypts files made by ansible-vault encrypt (format 1.1)', () => {
  assert.is(decryptVault(fixture('whole-file.yml'), [LAB], 'whole-file.yml'), fixture('whole-file.plain.yml'))
  assert.is(decryptVault(fixture('multiline.txt'), [LAB]), fixture('multiline.plain.txt'))
})

test('decrypts ansible-vault encrypt_string values, 1.1 and 1.2 with a vault id', () => {
  assert.is(decryptVault(inlineVault('encrypt-string.yml', 'db_password'), [LAB]), 'inline-s3cr3t-value')
  const prodText = inlineVault('vault-id-prod.yml', 'prod_token')
  assert.ok(prodText.startsWith('$ANSIBLE_VAULT;1.2;AES256;prod\n'))
  // The id-labelled password is tried first; an unlabelled wrong one before it does no harm.
  assert.is(decryptVault(prodText, [LAB, PROD]), 'prod-only-s3cr3t')
  assert.is(decryptVault(prodText, [{ password: PROD.password }]), 'prod-only-s3cr3t')
})

test('encryptVault round-trips, wraps at 80 columns, 1.1 or 1.2 with an id', () => {
  const plaintexts = ['', 'x', 'exactly 16 bytes', 'ünïcødé ✓ secret', 'two\nlines\n', 'p'.repeat(1000)]
  for (const plaintext of plaintexts)
    for (const id of [undefined, 'prod']) {
      const text = encryptVault(plaintext, 'pw-for-round-trip', id)
      const [header, ...body] = text.trimEnd().split('\n')
      assert.is(header, id ? '$ANSIBLE_VAULT;1.2;AES256;prod' : '$ANSIBLE_VAULT;1.1;AES256')
      assert.ok(body.every((line) => line.length <= 80 && /^[0-9a-f]+$/.test(line)))
      assert.ok(text.endsWith('\n'))
      assert.is(decryptVault(text, [{ password: 'pw-for-round-trip' }]), plaintext, JSON.stringify(plaintext))
    }
  // As Ansible: the id 'default' keeps format 1.1.
  assert.ok(encryptVault('x', 'pw', 'default').startsWith('$ANSIBLE_VAULT;1.1;AES256\n'))
})

test('each encryption uses a fresh salt', () => {
  assert.is.not(encryptVault('same', 'pw'), encryptVault('same', 'pw'))
})

test('a wrong password is a ConfigError naming the file, with no stack in its description', () => {
  const error = expectConfigError(() => decryptVault(fixture('whole-file.yml'), [{ password: 'not-it' }], 'group_vars/db.yml'), [
    'wrong vault password for group_vars/db.yml',
  ])
  assert.not.ok(error.describe().includes('    at '))
})

test('a password for another vault id is reported', () => {
  expectConfigError(() => decryptVault(inlineVault('vault-id-prod.yml', 'prod_token'), [LAB], 'host_vars/db1.yml:2'), [
    'wrong vault password for host_vars/db1.yml:2',
    "vault id 'prod'",
  ])
})

test('tampered data fails the HMAC check before decrypting', () => {
  const text = encryptVault('do not change me', 'pw')
  const [header, ...lines] = text.trimEnd().split('\n')
  const [salt, hmac, ciphertext] = Buffer.from(lines.join(''), 'hex').toString('latin1').split('\n') as [string, string, string]
  const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
  const rebuild = (parts: string[]) => `${header}\n${Buffer.from(parts.join('\n'), 'latin1').toString('hex')}\n`
  for (const tampered of [rebuild([salt, flip(hmac, 5), ciphertext]), rebuild([salt, hmac, flip(ciphertext, 3)])])
    expectConfigError(() => decryptVault(tampered, [{ password: 'pw' }], 'tampered.yml'), ['wrong vault password for tampered.yml', 'altered'])
})

test('malformed vault data names the file', () => {
  const good = encryptVault('x', 'pw')
  const cases: [text: string, detail: string][] = [
    ['hello', 'does not start with $ANSIBLE_VAULT'],
    [good.replace(';1.1;', ';1.0;'), "format version '1.0'"],
    [good.replace(';AES256', ';AES'), "cipher 'AES'"],
    ['$ANSIBLE_VAULT;1.1;AES256\n', 'no encrypted text'],
    ['$ANSIBLE_VAULT;1.1;AES256\nzz\n', 'not hexadecimal'],
    [`$ANSIBLE_VAULT;1.1;AES256\n${Buffer.from('abcd\nef').toString('hex')}\n`, 'salt, HMAC and ciphertext'],
    [good.slice(0, 120), 'malformed vault data'],
  ]
  for (const [text, detail] of cases) expectConfigError(() => decryptVault(text, [{ password: 'pw' }], 'broken.yml'), ['broken.yml', detail])
})

test('vault data without any password: what to give', () => {
  expectConfigError(() => decryptVault(fixture('whole-file.yml'), [], 'inventory/group_vars/db.yml:3'), [
    'inventory/group_vars/db.yml:3 is vault-encrypted',
    '--vault-password-file',
    'BERTH_VAULT_PASSWORD',
  ])
})

test('isVaulted', () => {
  const cases: [string, boolean][] = [
    [fixture('whole-file.yml'), true],
    ['$ANSIBLE_VAULT;1.2;AES256;prod\n3132\n', true],
    ['  $ANSIBLE_VAULT;1.1;AES256\n', true],
    ['db_password: x\n', false],
    ['# $ANSIBLE_VAULT;1.1;AES256\n', false],
    ['', false],
  ]
  for (const [text, expected] of cases) assert.is(isVaulted(text), expected, JSON.stringify(text.slice(0, 30)))
})

test('the keyring decrypts in parallel and caches derived keys', async () => {
  const keyring = new VaultKeyring([LAB, PROD])
  const whole = fixture('whole-file.yml')
  const results = await Promise.all([whole, whole, inlineVault('vault-id-prod.yml', 'prod_token')].map((t) => keyring.decryptAsync(t, 'f')))
  assert.equal(results, [fixture('whole-file.plain.yml'), fixture('whole-file.plain.yml'), 'prod-only-s3cr3t'])
  assert.is(keyring.decrypt(whole), fixture('whole-file.plain.yml'))
  assert.ok(keyring.hasPasswords)
  assert.not.ok(new VaultKeyring([]).hasPasswords)
  await keyring.decryptAsync(whole.replace(/[0-9a-f](?=\n$)/, (c) => (c === '0' ? '1' : '0')), 'f').then(
    () => assert.unreachable('tampered text decrypted'),
    (e: unknown) => assert.instance(e, ConfigError),
  )
})

test('decrypted values are masked once registered with the redactor', () => {
  const redactor = new Redactor()
  const secret = decryptVault(inlineVault('encrypt-string.yml', 'db_password'), [LAB])
  redactor.add(secret)
  assert.is(redactor.mask(`PGPASSWORD=${secret} psql`), 'PGPASSWORD=******** psql')
})

test('readVaultPasswordFile: a file (trimmed), a script (its stdout), errors', async () => {
  assert.is(await readVaultPasswordFile(join(FIXTURES, 'lab-password.txt')), 'berth-lab-only-password')
  const dir = await mkdtemp(join(tmpdir(), 'berth-vault-'))
  try {
    const script = join(dir, 'vault-pass.sh')
    await writeFile(script, '#!/bin/sh\necho "  from script  "\n')
    await chmod(script, 0o755)
    // As Ansible: only line ends are stripped from a script's output.
    assert.is(await readVaultPasswordFile(script), '  from script  ')

    const failing = join(dir, 'failing.sh')
    await writeFile(failing, '#!/bin/sh\nexit 3\n')
    await chmod(failing, 0o755)
    const empty = join(dir, 'empty.txt')
    await writeFile(empty, '\n  \n')
    const cases: [string, string][] = [
      [join(dir, 'missing.txt'), 'was not found'],
      [empty, 'empty password'],
      [failing, 'exited with code 3'],
      [dir, 'is a directory'],
    ]
    for (const [path, message] of cases)
      await readVaultPasswordFile(path).then(
        () => assert.unreachable(path),
        (e: unknown) => {
          assert.instance(e, ConfigError)
          assert.ok((e as ConfigError).message.includes(message), (e as ConfigError).message)
          assert.ok((e as ConfigError).message.includes(path))
        },
      )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
