// SCRAM-SHA-256 password verifiers, computed on the controller (RFC 5802, RFC 7677),
// as psql's \password does: the plain password never reaches the server, its
// logs or a process list, and a stored verifier can be checked against the
// password from the vault without changing it.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

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
