// Ansible Vault, format 1.1 and 1.2 (cipher AES256), so inventories and -e files
// encrypted with `ansible-vault` work unchanged.
//
// The format, as Ansible documents it:
//
//   $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";<vault-id>")
//   <hex, wrapped at 80 columns>
//
// The hex decodes to three ASCII lines: hex(salt), hex(hmac), hex(ciphertext).
// PBKDF2-HMAC-SHA256(password, salt, 10000 iterations) gives 80 bytes: the AES-256
// key, the HMAC-SHA256 key, and the 16-byte initial counter of AES-256-CTR. The HMAC
// covers the ciphertext and is checked (in constant time) before anything is
// decrypted; the plaintext is PKCS#7 padded to the AES block size.
import { spawn } from 'node:child_process'
import { createCipheriv, createDecipheriv, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { ConfigError } from '../errors.ts'

/** One vault password; `id` is the vault-id label (`--vault-id prod@file`), if any. */
export type VaultPasswordSource = { id?: string; password: string }

const HEADER = '$ANSIBLE_VAULT'
const CIPHER = 'AES256'
const KDF_ITERATIONS = 10_000
const KEY_BYTES = 32
const IV_BYTES = 16
const SALT_BYTES = 32
const HMAC_BYTES = 32
const BLOCK_BYTES = 16
const LINE_WIDTH = 80

export const NO_VAULT_PASSWORD_HINT = 'give --vault-password-file FILE or set BERTH_VAULT_PASSWORD'

interface VaultEnvelope {
  version: '1.1' | '1.2'
  vaultId: string | undefined
  salt: Buffer
  hmac: Buffer
  ciphertext: Buffer
}

interface DerivedKeys {
  aesKey: Buffer
  hmacKey: Buffer
  counter: Buffer
}

/** True if the text is vault data (a whole vaulted file, or the body of a `!vault` scalar). */
export function isVaulted(text: string): boolean {
  return text.trimStart().startsWith(HEADER + ';')
}

/**
 * The vault passwords of one run, with the derived keys cached per (password, salt):
 * PBKDF2 is deliberately slow (a few ms each), and the same vaulted text may be met
 * more than once (a YAML alias, a file read twice, a wrong password tried again).
 */
export class VaultKeyring {
  readonly #passwords: VaultPasswordSource[]
  readonly #derived = new Map<string, DerivedKeys | Promise<DerivedKeys>>()

  constructor(passwords: readonly VaultPasswordSource[] = []) {
    this.#passwords = [...passwords]
  }

  /** One more password to try (one an inventory names, say). */
  add(source: VaultPasswordSource): void {
    this.#passwords.push(source)
  }

  get hasPasswords(): boolean {
    return this.#passwords.length > 0
  }

  /** Decrypt vault text. `where` names it in errors (`file` or `file:line`). */
  decrypt(vaulttext: string, where = 'vaulted text'): string {
    const envelope = parseEnvelope(vaulttext, where)
    for (const index of this.#candidates(envelope.vaultId, where)) {
      const plaintext = open(envelope, this.#deriveSync(index, envelope.salt), where)
      if (plaintext !== undefined) return plaintext
    }
    throw this.#wrongPassword(envelope, where)
  }

  /** As `decrypt`, with key derivation on the libuv thread pool so many values decrypt in parallel. */
  async decryptAsync(vaulttext: string, where = 'vaulted text'): Promise<string> {
    const envelope = parseEnvelope(vaulttext, where)
    for (const index of this.#candidates(envelope.vaultId, where)) {
      const plaintext = open(envelope, await this.#deriveAsync(index, envelope.salt), where)
      if (plaintext !== undefined) return plaintext
    }
    throw this.#wrongPassword(envelope, where)
  }

  /** Password indexes to try: those labelled with the data's vault id first, then the others (as Ansible). */
  #candidates(vaultId: string | undefined, where: string): number[] {
    if (this.#passwords.length === 0) throw new ConfigError(`${where} is vault-encrypted`, { hint: NO_VAULT_PASSWORD_HINT })
    const indexes = this.#passwords.map((_, i) => i)
    const matching = indexes.filter((i) => vaultId !== undefined && this.#passwords[i]?.id === vaultId)
    return [...matching, ...indexes.filter((i) => !matching.includes(i))]
  }

  #deriveSync(index: number, salt: Buffer): DerivedKeys {
    const cacheKey = `${index}:${salt.toString('hex')}`
    const cached = this.#derived.get(cacheKey)
    if (cached && !(cached instanceof Promise)) return cached
    const keys = splitKeyMaterial(pbkdf2Sync(this.#password(index), salt, KDF_ITERATIONS, 2 * KEY_BYTES + IV_BYTES, 'sha256'))
    this.#derived.set(cacheKey, keys)
    return keys
  }

  #deriveAsync(index: number, salt: Buffer): Promise<DerivedKeys> | DerivedKeys {
    const cacheKey = `${index}:${salt.toString('hex')}`
    const cached = this.#derived.get(cacheKey)
    if (cached) return cached
    const pending = new Promise<DerivedKeys>((resolve, reject) =>
      pbkdf2(this.#password(index), salt, KDF_ITERATIONS, 2 * KEY_BYTES + IV_BYTES, 'sha256', (error, material) =>
        error ? reject(error) : resolve(splitKeyMaterial(material)),
      ),
    )
    this.#derived.set(cacheKey, pending)
    pending.then(
      (keys) => this.#derived.set(cacheKey, keys),
      () => this.#derived.delete(cacheKey),
    )
    return pending
  }

  #password(index: number): Buffer {
    return Buffer.from(this.#passwords[index]?.password ?? '', 'utf8')
  }

  #wrongPassword(envelope: VaultEnvelope, where: string): ConfigError {
    const ids = this.#passwords.map((p) => p.id).filter((id): id is string => id !== undefined)
    const tried = this.#passwords.length === 1 ? 'the one vault password given' : `${this.#passwords.length} vault passwords`
    const idNote =
      envelope.vaultId !== undefined && !ids.includes(envelope.vaultId)
        ? `; the data was encrypted for vault id '${envelope.vaultId}' and no password carries that id`
        : ''
    return new ConfigError(`wrong vault password for ${where}`, {
      hint: `tried ${tried}${idNote}; if the password is right, the encrypted text was altered or truncated`,
    })
  }
}

/** Decrypt vault text with the given passwords. ConfigError on a wrong password or malformed data. */
export function decryptVault(text: string, passwords: VaultPasswordSource[], where?: string): string {
  return new VaultKeyring(passwords).decrypt(text, where)
}

/**
 * Encrypt as `ansible-vault encrypt` does: format 1.1, or 1.2 with the vault id in
 * the header when `id` is given (Ansible keeps 1.1 for the id 'default').
 */
export function encryptVault(plaintext: string, password: string, id?: string): string {
  if (password.length === 0) throw new ConfigError('cannot encrypt with an empty vault password')
  const salt = randomBytes(SALT_BYTES)
  const keys = splitKeyMaterial(pbkdf2Sync(Buffer.from(password, 'utf8'), salt, KDF_ITERATIONS, 2 * KEY_BYTES + IV_BYTES, 'sha256'))
  const cipher = createCipheriv('aes-256-ctr', keys.aesKey, keys.counter)
  const ciphertext = Buffer.concat([cipher.update(pkcs7Pad(Buffer.from(plaintext, 'utf8'))), cipher.final()])
  const hmac = createHmac('sha256', keys.hmacKey).update(ciphertext).digest()
  const body = Buffer.from([salt, hmac, ciphertext].map((b) => b.toString('hex')).join('\n'), 'ascii').toString('hex')
  const header = id !== undefined && id !== '' && id !== 'default' ? `${HEADER};1.2;${CIPHER};${id}` : `${HEADER};1.1;${CIPHER}`
  const lines = [header]
  for (let i = 0; i < body.length; i += LINE_WIDTH) lines.push(body.slice(i, i + LINE_WIDTH))
  return lines.join('\n') + '\n'
}

/**
 * A vault password from a file, as Ansible reads it: the file's content, trimmed;
 * or, when the file is executable, the standard output of running it (its stderr
 * stays on the terminal so a script can prompt).
 */
export async function readVaultPasswordFile(path: string): Promise<string> {
  let mode: number
  try {
    const info = await stat(path)
    if (info.isDirectory()) throw new ConfigError(`vault password file ${path} is a directory`)
    mode = info.mode
  } catch (e) {
    if (e instanceof ConfigError) throw e
    throw new ConfigError(`vault password file ${path} was not found`, { hint: 'give the path of a file holding the password (or of a script printing it)' })
  }
  const executable = (mode & 0o111) !== 0
  const password = executable ? (await runPasswordScript(path)).replace(/^[\r\n]+|[\r\n]+$/g, '') : (await readFile(path, 'utf8')).trim()
  if (password.length === 0)
    throw new ConfigError(`vault password ${executable ? 'script' : 'file'} ${path} gave an empty password`, {
      hint: executable ? 'the script must print the password on its standard output' : undefined,
    })
  return password
}

function runPasswordScript(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { stdio: ['inherit', 'pipe', 'inherit'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.on('error', (error) =>
      reject(new ConfigError(`vault password script ${path} could not be run: ${error.message}`, { hint: 'if it is not a script, remove its executable bit' })),
    )
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'))
      else reject(new ConfigError(`vault password script ${path} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`))
    })
  })
}

function splitKeyMaterial(material: Buffer): DerivedKeys {
  return {
    aesKey: material.subarray(0, KEY_BYTES),
    hmacKey: material.subarray(KEY_BYTES, 2 * KEY_BYTES),
    counter: material.subarray(2 * KEY_BYTES, 2 * KEY_BYTES + IV_BYTES),
  }
}

function parseEnvelope(vaulttext: string, where: string): VaultEnvelope {
  const malformed = (reason: string): ConfigError =>
    new ConfigError(`malformed vault data in ${where}: ${reason}`, {
      hint: 'keep the encrypted text exactly as ansible-vault wrote it: the $ANSIBLE_VAULT header line, then lines of hex',
    })
  const [headerLine = '', ...bodyLines] = vaulttext.trim().split(/\r?\n/)
  const header = headerLine.trim().split(';').map((field) => field.trim())
  if (header[0] !== HEADER) throw malformed(`it does not start with ${HEADER}`)
  const version = header[1]
  if (version !== '1.1' && version !== '1.2')
    throw malformed(`format version '${version ?? ''}' is not supported (1.1 and 1.2 are); re-encrypt it with ansible-vault rekey`)
  if (header[2] !== CIPHER) throw malformed(`cipher '${header[2] ?? ''}' is not supported (only ${CIPHER} is)`)
  const vaultId = header[3] !== undefined && header[3] !== '' ? header[3] : undefined

  const body = bodyLines.join('').replace(/\s+/g, '')
  if (body.length === 0) throw malformed('there is no encrypted text after the header')
  if (!isHex(body)) throw malformed('the encrypted text is not hexadecimal')
  const parts = Buffer.from(body, 'hex').toString('latin1').split('\n')
  if (parts.length !== 3 || !parts.every(isHex)) throw malformed('the encrypted text does not hold salt, HMAC and ciphertext')
  const [salt, hmac, ciphertext] = parts.map((p) => Buffer.from(p, 'hex')) as [Buffer, Buffer, Buffer]
  if (salt.length === 0) throw malformed('the salt is empty')
  if (hmac.length !== HMAC_BYTES) throw malformed(`the HMAC is ${hmac.length} bytes, not ${HMAC_BYTES}`)
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_BYTES !== 0) throw malformed('the ciphertext length is not a whole number of AES blocks')
  return { version, vaultId, salt, hmac, ciphertext }
}

/** The plaintext, or undefined when the HMAC does not match (wrong password or altered data). */
function open(envelope: VaultEnvelope, keys: DerivedKeys, where: string): string | undefined {
  const expected = createHmac('sha256', keys.hmacKey).update(envelope.ciphertext).digest()
  if (!timingSafeEqual(expected, envelope.hmac)) return undefined
  const decipher = createDecipheriv('aes-256-ctr', keys.aesKey, keys.counter)
  const padded = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()])
  const plaintext = pkcs7Unpad(padded)
  if (!plaintext) throw new ConfigError(`malformed vault data in ${where}: the decrypted data has invalid padding`)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
  } catch {
    throw new ConfigError(`${where} decrypts to binary data, not UTF-8 text`)
  }
}

function pkcs7Pad(data: Buffer): Buffer {
  const padLength = BLOCK_BYTES - (data.length % BLOCK_BYTES)
  return Buffer.concat([data, Buffer.alloc(padLength, padLength)])
}

function pkcs7Unpad(data: Buffer): Buffer | undefined {
  const padLength = data[data.length - 1] ?? 0
  if (padLength < 1 || padLength > BLOCK_BYTES || padLength > data.length) return undefined
  for (let i = data.length - padLength; i < data.length; i++) if (data[i] !== padLength) return undefined
  return data.subarray(0, data.length - padLength)
}

function isHex(text: string): boolean {
  return text.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(text)
}
