import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { checkStoredPassword, parseScramVerifier, saslPrep, SCRAM_ITERATIONS, scramSqlOnHost, scramVerifier, type PasswordCheck } from '../../../roles/postgres/scram.ts'

// Made by a real PostgreSQL 15 (SET password_encryption = 'scram-sha-256'; CREATE ROLE replica PASSWORD 's3cret').
const PG15_REPLICA =
  'SCRAM-SHA-256$4096:+ctOVXJ+B8mc+lDs6ETLMA==$4HFnS3mx6rxorJao90Q2yBrjACUvtj97TEmPFyWvSPQ=:QI71RU0ZqJ1I/1daMbYEB/wNHcwlZDZvS8CYGVy0gg4='
const PG15_SALT = Buffer.from('+ctOVXJ+B8mc+lDs6ETLMA==', 'base64')
const md5Verifier = (password: string, user: string): string => 'md5' + createHash('md5').update(password + user).digest('hex')

const verifier = suite('scramVerifier')

verifier('same salt and iterations as PostgreSQL 15: the same verifier, byte for byte', () => {
  assert.is(scramVerifier('s3cret', PG15_SALT, 4096), PG15_REPLICA)
})

verifier('another password with the same salt gives another verifier', () => {
  assert.is.not(scramVerifier('s3cret!', PG15_SALT, 4096), PG15_REPLICA)
})

verifier('default: 4096 iterations and a fresh 16-byte salt each time', () => {
  assert.is(SCRAM_ITERATIONS, 4096)
  const a = scramVerifier('s3cret')
  const b = scramVerifier('s3cret')
  assert.is.not(a, b)
  const parsed = parseScramVerifier(a)
  assert.ok(parsed)
  assert.is(parsed.iterations, 4096)
  assert.is(parsed.salt.length, 16)
  assert.is(parsed.storedKey.length, 32)
  assert.is(parsed.serverKey.length, 32)
  assert.is(checkStoredPassword(a, 's3cret', 'replica'), 'matches')
})

verifier('parseScramVerifier: the PostgreSQL form only', () => {
  const p = parseScramVerifier(PG15_REPLICA)
  assert.ok(p)
  assert.is(p.iterations, 4096)
  assert.equal(p.salt, PG15_SALT)
  for (const bad of ['', 'md5' + '0'.repeat(32), 'SCRAM-SHA-1$4096:abc=$def=:ghi=', 'SCRAM-SHA-256$4096:abc=$def=', 'SCRAM-SHA-256$x:abc=$def=:ghi='])
    assert.is(parseScramVerifier(bad), undefined, bad)
})

verifier.run()

const check = suite('checkStoredPassword')

const rows: [string, string | undefined, string, PasswordCheck][] = [
  ['PostgreSQL 15 verifier, right password', PG15_REPLICA, 's3cret', 'matches'],
  ['PostgreSQL 15 verifier, another password', PG15_REPLICA, 's3cret2', 'differs'],
  ['PostgreSQL 15 verifier, empty password', PG15_REPLICA, '', 'differs'],
  ['no password stored', undefined, 's3cret', 'none'],
  ['empty rolpassword', '', 's3cret', 'none'],
  ['md5 of the same password and user', md5Verifier('s3cret', 'replica'), 's3cret', 'md5'],
  ['md5 of another password', md5Verifier('other-password', 'replica'), 's3cret', 'differs'],
  ['md5 of the same password for another user (the user is the salt)', md5Verifier('s3cret', 'harbor'), 's3cret', 'differs'],
  ['neither form (a plain-text leftover)', 's3cret', 's3cret', 'differs'],
]
for (const [name, stored, password, expected] of rows)
  check(name, () => {
    assert.is(checkStoredPassword(stored, password, 'replica'), expected)
  })

check('the iterations stored are used, not the default', () => {
  const v = scramVerifier('s3cret', PG15_SALT, 10000)
  assert.ok(v.startsWith('SCRAM-SHA-256$10000:'))
  assert.is(checkStoredPassword(v, 's3cret', 'replica'), 'matches')
})

// A damaged or hand-edited rolpassword (a ServerKey of another length) is 'differs', not a crash.
check('a verifier with a truncated ServerKey is "differs", not a crash', () => {
  const truncated = PG15_REPLICA.replace(/:[^:]+$/, ':QQ==')
  assert.is(checkStoredPassword(truncated, 's3cret', 'replica'), 'differs')
})

check.run()

const prep = suite('saslPrep')

prep('printable ASCII passes unchanged, spaces and symbols included', () => {
  for (const p of ['s3cret', 'with space', "q'uote\\back", '~!@#$%^&*()_+{}|:"<>?'])
    assert.is(saslPrep(p), p)
})

// PostgreSQL's SASLprep of other characters depends on Unicode 3.2 tables and a raw
// fallback for prohibited code points; berth refuses such passwords instead of guessing.
prep('anything beyond printable ASCII is refused, not approximated', () => {
  for (const p of ['pass\u00A0word', '\uFB01x', 'caf\u00E9', 'tab\there', '\uE000'])
    assert.throws(() => saslPrep(p), /printable ASCII/, JSON.stringify(p))
  assert.throws(() => scramVerifier('caf\u00E9'), /printable ASCII/)
})

prep.run()

// The derivation that runs on the database host (perl, which postgresql-common
// depends on), run here with the same shell: its verifier must be one the
// controller's check (and so PostgreSQL) accepts for the password.
const onHost = suite('scramSqlOnHost')
const derive = (password: string): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync('sh', ['-c', scramSqlOnHost('ALTER ROLE "x" PASSWORD ', ';').text], { input: password, encoding: 'utf8' })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

onHost('prints the statement with a verifier of the password from standard input, fresh salt each time', () => {
  const pw = `s3cret with 'quotes' $HOME \\ and "more"`
  const a = derive(pw)
  assert.is(a.code, 0, a.stderr)
  const m = /^ALTER ROLE "x" PASSWORD '(SCRAM-SHA-256\$4096:[^']+)';\n$/.exec(a.stdout)
  assert.ok(m, a.stdout)
  assert.is(checkStoredPassword(m[1], pw, 'x'), 'matches')
  assert.is(checkStoredPassword(m[1], pw + '!', 'x'), 'differs')
  assert.is.not(derive(pw).stdout, a.stdout)
})

onHost('no password, or one beyond printable ASCII: fails with a message, prints nothing', () => {
  for (const [pw, message] of [['', /no password/], ['caf\u00E9', /printable ASCII/]] as const) {
    const r = derive(pw)
    assert.is.not(r.code, 0)
    assert.is(r.stdout, '')
    assert.match(r.stderr, message)
  }
})

onHost.run()
