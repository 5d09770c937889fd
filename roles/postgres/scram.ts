// SCRAM-SHA-256 password verifiers (RFC 5802, RFC 7677), as psql's \password
// makes them: the plain password never reaches the server, its logs or a
// process list. A new verifier is derived on the database host from the
// password on standard input (scramSqlOnHost: a recorded operation, so a
// runbook derives it the same way from a shell variable); a stored verifier
// is checked on the controller against the password from the vault, so an
// unchanged password is not drift.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ShellCommand, quote } from '../../src/index.ts'

export const SCRAM_ITERATIONS = 4096

/**
 * SASLprep (RFC 4013), which PostgreSQL applies to a password before hashing,
 * leaves printable ASCII unchanged. For other characters the result depends on
 * Unicode 3.2 tables and on PostgreSQL falling back to the raw bytes where
 * they prohibit a character; rather than guess, berth accepts ASCII only (the
 * roles' option checks say so before anything runs).
 */
export function saslPrep(password: string): string {
  if (!/^[\x20-\x7E]*$/.test(password)) throw new Error('SCRAM passwords must be printable ASCII here: SASLprep of other characters is not reproduced')
  return password
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest()

function keys(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(Buffer.from(saslPrep(password), 'ascii'), salt, iterations, 32, 'sha256')
  return { storedKey: createHash('sha256').update(hmac(salted, 'Client Key')).digest(), serverKey: hmac(salted, 'Server Key') }
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, the form pg_authid stores. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const { storedKey, serverKey } = keys(password, salt, iterations)
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

export interface ParsedVerifier {
  iterations: number
  salt: Buffer
  storedKey: Buffer
  serverKey: Buffer
}

export function parseScramVerifier(stored: string): ParsedVerifier | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(stored)
  if (!m) return undefined
  return { iterations: Number(m[1]), salt: Buffer.from(m[2] as string, 'base64'), storedKey: Buffer.from(m[3] as string, 'base64'), serverKey: Buffer.from(m[4] as string, 'base64') }
}

export type PasswordCheck = 'matches' | 'differs' | 'md5' | 'none'

/**
 * Does the stored password (pg_authid.rolpassword) belong to this password?
 * 'md5' means it matches but is stored in the old MD5 form, which a run upgrades.
 */
export function checkStoredPassword(stored: string | undefined, password: string, user: string): PasswordCheck {
  if (!stored) return 'none'
  const scram = parseScramVerifier(stored)
  if (scram) {
    const { storedKey, serverKey } = keys(password, scram.salt, scram.iterations)
    const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b)
    return same(storedKey, scram.storedKey) && same(serverKey, scram.serverKey) ? 'matches' : 'differs'
  }
  if (/^md5[0-9a-f]{32}$/.test(stored)) return 'md5' + createHash('md5').update(password + user).digest('hex') === stored ? 'md5' : 'differs'
  return 'differs'
}

/**
 * Perl (which postgresql-common depends on, so every PostgreSQL host has it)
 * reads the password on standard input and prints `PREFIX<verifier>SUFFIX`:
 * PBKDF2-HMAC-SHA-256 over a fresh 16-byte salt, as scramVerifier above. No
 * single quote inside, so it is one quoted shell word; one statement a line,
 * so a runbook's reader can follow it.
 */
const SCRAM_PERL = [
  String.raw`use strict; use Digest::SHA qw(hmac_sha256 sha256); use MIME::Base64 qw(encode_base64);`,
  String.raw`local $/; my $p = <STDIN>; defined $p && length $p or die qq{no password on standard input\n};`,
  String.raw`$p =~ /\A[\x20-\x7e]+\z/ or die qq{the password must be printable ASCII\n};`,
  String.raw`open(my $r, q{<:raw}, q{/dev/urandom}) or die qq{/dev/urandom: $!\n}; read($r, my $salt, 16) == 16 or die qq{/dev/urandom: short read\n};`,
  String.raw`my $u = hmac_sha256($salt . pack(q{N}, 1), $p); my $k = $u; for (2 .. ${SCRAM_ITERATIONS}) { $u = hmac_sha256($u, $p); $k ^= $u }`,
  String.raw`my $b = sub { encode_base64($_[0], q{}) };`,
  String.raw`print $ARGV[0], q{SCRAM-SHA-256$${SCRAM_ITERATIONS}:}, $b->($salt), q{$}, $b->(sha256(hmac_sha256(q{Client Key}, $k))), q{:}, $b->(hmac_sha256(q{Server Key}, $k)), $ARGV[1], qq{\n};`,
].join('\n')

/**
 * A command that reads a password on standard input and prints
 * `<prefix>'<SCRAM verifier>'<suffix>`: the SQL statement that sets it.
 */
export function scramSqlOnHost(prefix: string, suffix: string): ShellCommand {
  return new ShellCommand(`perl -e ${quote(SCRAM_PERL)} ${quote(`${prefix}'`)} ${quote(`'${suffix}`)}`)
}
