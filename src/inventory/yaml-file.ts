// Reading YAML as Ansible does (PyYAML, YAML 1.1), with `file:line` in every error
// and Ansible's `!vault` tag.
//
// A `!vault` scalar becomes a VaultedScalar placeholder when parsed; `revealVaulted`
// decrypts all placeholders of a value at once (in parallel) and registers every
// decrypted string with the run's Redactor. A whole file encrypted with
// `ansible-vault encrypt` is decrypted before parsing, and every leaf of it is
// registered with the Redactor when converted.
import { readFile } from 'node:fs/promises'
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml'
import type { Document, Node, ScalarTag, Tags } from 'yaml'
import { ConfigError } from '../errors.ts'
import type { Redactor } from '../secrets.ts'
import { VaultKeyring, isVaulted } from './vault.ts'

/** An encrypted `!vault` value, decrypted after parsing by `revealVaulted`. */
export class VaultedScalar {
  constructor(
    readonly vaulttext: string,
    /** `file:line` of the value. */
    readonly where: string,
  ) {}
}

export interface YamlEntry {
  key: string
  keyNode: Node | null
  value: Node | null
  line: number
}

// PyYAML's booleans: YAML 1.1 without the single letters y/n (which the `yaml`
// package's 1.1 schema would turn into booleans, and Ansible keeps as strings).
const PYYAML_TRUE = ['yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']
const PYYAML_BOOL: ScalarTag = {
  identify: (value) => typeof value === 'boolean',
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test: /^(?:[Yy]es|YES|[Nn]o|NO|[Tt]rue|TRUE|[Ff]alse|FALSE|[Oo]n|ON|[Oo]ff|OFF)$/,
  resolve: (text) => PYYAML_TRUE.includes(text),
  stringify: ({ value }) => (value ? 'true' : 'false'),
}
// `!vault` keeps its text (decrypted later); `!unsafe` only marks a string as not to be templated.
const VAULT_TAG: ScalarTag = { tag: '!vault', resolve: (text) => text }
const UNSAFE_TAG: ScalarTag = { tag: '!unsafe', resolve: (text) => text }

function ansibleTags(tags: Tags): Tags {
  // Timestamps stay strings: PyYAML makes dates of them, which Ansible prints back as
  // the same text; a JS Date would print differently.
  const kept = tags.filter((t) => {
    const name = typeof t === 'object' && t !== null && 'tag' in t ? t.tag : ''
    return name !== 'tag:yaml.org,2002:bool' && name !== 'tag:yaml.org,2002:timestamp'
  })
  return [PYYAML_BOOL, ...kept, VAULT_TAG, UNSAFE_TAG]
}

export class YamlFile {
  private constructor(
    /** The path as shown to the user. */
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** The whole file was vault-encrypted: every value in it is a secret. */
    readonly fromVault: boolean,
    private readonly redactor: Redactor | undefined,
  ) {}

  /**
   * Parse YAML text. Errors are ConfigErrors at `file:line`. Text that came out of a
   * vault is parsed without the parser's code excerpt in errors, so no secret leaks.
   */
  static parse(text: string, file: string, options: { fromVault?: boolean; redactor?: Redactor } = {}): YamlFile {
    const lines = new LineCounter()
    const fromVault = options.fromVault ?? false
    const doc = parseDocument(text, { version: '1.1', customTags: ansibleTags, prettyErrors: !fromVault, lineCounter: lines })
    const error = doc.errors[0]
    if (error) {
      const line = error.linePos?.[0].line ?? lines.linePos(error.pos[0]).line
      const message = fromVault ? error.message.split('\n')[0] ?? error.message : error.message.trimEnd()
      throw new ConfigError(`YAML error: ${message}`, { where: `${file}:${line}` })
    }
    const parsed = new YamlFile(file, doc, lines, fromVault, options.redactor)
    visit(doc, {
      Scalar: (_key, node) => {
        if (node.tag === '!vault') node.value = new VaultedScalar(String(node.value), parsed.where(node))
      },
    })
    return parsed
  }

  /** Read and parse a file, decrypting it first when the whole file is vault-encrypted. */
  static async read(path: string, file: string, keyring: VaultKeyring, redactor: Redactor): Promise<YamlFile> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new ConfigError(code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read: ${(e as Error).message}`)
    }
    return YamlFile.fromText(text, file, keyring, redactor)
  }

  /** Parse text read from `file`, decrypting it first when it is vault-encrypted as a whole. */
  static async fromText(text: string, file: string, keyring: VaultKeyring, redactor: Redactor): Promise<YamlFile> {
    if (!isVaulted(text)) return YamlFile.parse(text, file, { redactor })
    const plaintext = await keyring.decryptAsync(text, file)
    return YamlFile.parse(plaintext, file, { fromVault: true, redactor })
  }

  get root(): Node | null {
    return this.resolve(this.doc.contents)
  }

  /** 1-based line of a node. */
  line(node: Node | null | undefined): number {
    const offset = node?.range?.[0]
    return offset === undefined ? 1 : this.lines.linePos(offset).line
  }

  where(node: Node | null | undefined): string {
    return `${this.file}:${this.line(node)}`
  }

  /** Follow an alias to the node it names. */
  resolve(node: unknown): Node | null {
    if (node === null || node === undefined) return null
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null
    return node as Node
  }

  /** The entries of a map node, keys as written (a host `01` stays '01'). */
  entries(node: Node): YamlEntry[] {
    if (!isMap(node)) return []
    return node.items.map((pair) => {
      const keyNode = this.resolve(pair.key)
      const key = isScalar(keyNode)
        ? typeof keyNode.value === 'string'
          ? keyNode.value
          : (keyNode.source ?? String(keyNode.value))
        : keyNode === null
          ? ''
          : String(keyNode.toJSON())
      return { key, keyNode, value: this.resolve(pair.value), line: this.line(keyNode ?? (pair.value as Node | null)) }
    })
  }

  /**
   * The plain JS value of a node (aliases and `<<` merges resolved). `!vault` values
   * are VaultedScalar placeholders: pass the result to `revealVaulted`.
   */
  toJS(node: Node | null): unknown {
    if (node === null) return null
    const value: unknown = node.toJS(this.doc, { maxAliasCount: -1 })
    if (this.fromVault && this.redactor) registerLeaves(value, this.redactor)
    return value
  }
}

/** What a YAML node is, for error messages. */
export function describeNode(node: Node | null): string {
  if (node === null) return 'nothing'
  if (isMap(node)) return 'a map'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const value = node.value
    if (value instanceof VaultedScalar) return 'a vault-encrypted value'
    if (value === null) return 'nothing'
    if (typeof value === 'string') return `the text '${value.length > 40 ? value.slice(0, 40) + '…' : value}'`
    return `the ${typeof value} ${String(value)}`
  }
  return 'a value'
}

/**
 * Replace every VaultedScalar inside a value with its plaintext (decrypted in
 * parallel) and register each plaintext with the redactor. Returns a new value.
 */
export async function revealVaulted(value: unknown, keyring: VaultKeyring, redactor: Redactor): Promise<unknown> {
  const decrypted = new Map<VaultedScalar, Promise<string>>()
  // The path of the variable each value is found at: a runbook refers to the secret by it.
  const paths = new Map<VaultedScalar, (string | number)[]>()
  collect(value, [])
  if (decrypted.size === 0) return value
  const plaintexts = new Map<VaultedScalar, string>()
  await Promise.all(
    [...decrypted].map(async ([vaulted, pending]) => {
      const plaintext = await pending
      redactor.add(plaintext, paths.get(vaulted))
      plaintexts.set(vaulted, plaintext)
    }),
  )
  return substitute(value)

  function collect(v: unknown, path: (string | number)[]): void {
    if (v instanceof VaultedScalar) {
      if (!decrypted.has(v)) {
        if (path.length > 0) paths.set(v, path)
        const pending = keyring.decryptAsync(v.vaulttext, v.where)
        pending.catch(() => {}) // awaited below; avoids an unhandled rejection while others are pending
        decrypted.set(v, pending)
      }
    } else if (Array.isArray(v)) v.forEach((inner, i) => collect(inner, [...path, i]))
    else if (isPlainObject(v)) for (const [k, inner] of Object.entries(v)) collect(inner, [...path, k])
  }
  function substitute(v: unknown): unknown {
    if (v instanceof VaultedScalar) return plaintexts.get(v)
    if (Array.isArray(v)) return v.map(substitute)
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, substitute(inner)]))
    return v
  }
}

/** Register every string and number inside a decrypted value: a vaulted file holds secrets only. */
export function registerLeaves(value: unknown, redactor: Redactor, path: (string | number)[] = []): void {
  const name = path.length > 0 ? path : undefined
  if (typeof value === 'string') redactor.add(value, name)
  else if (typeof value === 'number' || typeof value === 'bigint') redactor.add(String(value), name)
  else if (Array.isArray(value)) value.forEach((v, i) => registerLeaves(v, redactor, [...path, i]))
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) registerLeaves(v, redactor, [...path, k])
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}
