// SCRAM-SHA-256 password verifiers, computed on the controller (RFC 5802, RFC 7677),
// as psql's \password does: the plain password never reaches the server, its
// logs or a process list, and a stored verifier can be checked against the
// password from the vault without changing it.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

export const SCRAM_ITERATIONS = 4096

// RFC 3454 tables used by SASLprep (RFC 4013): non-ASCII spaces map to a space,
// "commonly mapped to nothing" code points are removed.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g

/**
 * SASLprep as PostgreSQL applies it: ASCII passwords pass unchanged; others are
 * mapped and NFKC-normalised. (PostgreSQL falls back to the raw bytes when a
 * password has prohibited characters; those are control characters that no
 * operator types, so they are refused instead of guessed at.)
 */
export function saslPrep(password: string): string {
  if (/^[\x00-\x7F]*$/.test(password)) return password
  const mapped = password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC')
  if (/[\u0000-\u001F\u007F-\u009F\uFFF9-\uFFFD]/.test(mapped)) throw new Error('the password holds control characters that SASLprep prohibits')
  return mapped
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest()

function keys(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, 32, 'sha256')
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
    return storedKey.length === scram.storedKey.length && timingSafeEqual(storedKey, scram.storedKey) && timingSafeEqual(serverKey, scram.serverKey) ? 'matches' : 'differs'
  }
  if (/^md5[0-9a-f]{32}$/.test(stored)) return 'md5' + createHash('md5').update(password + user).digest('hex') === stored ? 'md5' : 'differs'
  return 'differs'
}
