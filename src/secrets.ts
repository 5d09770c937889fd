// Secret values and the redactor that masks them in every output.
//
// A run owns one Redactor (no process-wide state): the inventory registers every
// vault value in it, playbooks may register more, and every formatter, log line and
// error message passes through it.

const MASK = '********'

/** A value that must never be printed. `String(secret)` is masked on purpose. */
export class Secret {
  readonly #value: string
  /** The variable it is known by (`PG_HARBOR_PASSWORD`): how a runbook refers to it. */
  readonly name: string | undefined
  constructor(value: string, name?: string) {
    this.#value = value
    this.name = name === undefined ? undefined : shellName([name])
  }
  reveal(): string {
    return this.#value
  }
  toString(): string {
    return MASK
  }
  toJSON(): string {
    return MASK
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${MASK})`
  }
}

export const secret = (value: string, name?: string): Secret => new Secret(value, name)

/**
 * The shell variable a secret is known by in a runbook, from the path of the
 * variable that holds it: `pg_harbor_password` is PG_HARBOR_PASSWORD,
 * `harbor.secrets.csrfKey` HARBOR_SECRETS_CSRF_KEY.
 */
export function shellName(path: readonly (string | number)[]): string {
  const name = path
    .map((p) => String(p).replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
  return /^[A-Z_]/.test(name) ? name : `_${name}`
}

/** A text cut where named secrets stand in it: literal parts and references. */
export type NamedPart = { text: string } | { secret: string }

/** Reveal a possibly secret value; a plain string passes through. */
export const reveal = (value: string | Secret): string => (value instanceof Secret ? value.reveal() : value)

/**
 * The forms a secret takes in text on its way out: as is, inside a single-quoted
 * shell word, escaped for double quotes, escaped for a libpq conninfo value,
 * JSON-escaped, URL-encoded, HTML-escaped (ejs's <%= %>), and base64 at each of
 * the three byte alignments it can have inside a longer encoded text (only the
 * characters that depend on the secret alone).
 */
export function secretForms(value: string): string[] {
  const forms = [
    value,
    value.replace(/'/g, `'\\''`),
    value.replace(/["$`\\]/g, '\\$&'),
    value.replace(/['\\]/g, '\\$&'),
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
    ...base64Cores(Buffer.from(value, 'utf8')),
  ]
  return [...new Set(forms)].filter((f) => f.length >= MIN_LENGTH)
}

/** The base64 characters that encode only `bytes`, whatever comes before (0, 1 or 2 bytes of a group) or after. */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = []
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    const start = offset === 0 ? 0 : 4
    const end = Math.floor((offset + bytes.length) / 3) * 4
    // Fewer than 8 characters would mask unrelated base64.
    if (end - start >= 8) cores.push(encoded.slice(start, end))
  }
  return cores
}

/** Secrets shorter than this are not masked: they would mask noise ("a", "on"). */
const MIN_LENGTH = 3
/** Lines of a multi-line secret are masked everywhere from this length; shorter ones only as whole lines of a diff. */
const MIN_LINE_LENGTH = 6

export class Redactor {
  #values = new Set<string>()
  /** The name each secret's own text is known by (the first name given wins). */
  #names = new Map<string, string>()
  #namePattern: RegExp | undefined
  #lines = new Set<string>()
  #pattern: RegExp | undefined

  /**
   * Register a secret; values shorter than 3 characters would mask noise, so
   * they are refused. `name` is the variable it came from (a runbook refers to
   * it by that name); a named Secret brings its own.
   */
  add(value: string | Secret, name?: string | readonly (string | number)[]): void {
    const text = reveal(value)
    if (text.length < MIN_LENGTH) return
    const known = name === undefined ? (value instanceof Secret ? value.name : undefined) : typeof name === 'string' ? shellName([name]) : shellName(name)
    if (known !== undefined && !this.#names.has(text)) {
      this.#names.set(text, known)
      this.#namePattern = undefined
    }
    for (const form of secretForms(text)) this.#values.add(form)
    if (text.includes('\n'))
      for (const line of text.split('\n').map((l) => l.replace(/\r$/, ''))) {
        if (line.trim().length > 0) this.#lines.add(line)
        if (line.length >= MIN_LINE_LENGTH) for (const form of secretForms(line)) this.#values.add(form)
      }
    this.#pattern = undefined
  }

  /**
   * Mask a unified diff: a line whose text is a line of a multi-line secret (of
   * any length) or holds a secret shows only its +/-/space marker and the mask.
   */
  maskDiff(diff: string): string {
    return this.#maskLines(diff, (l) => (l.startsWith('+++ ') || l.startsWith('--- ') || l.startsWith('@@') ? undefined : 1))
  }

  /** Mask file content: as `mask`, and a line that is a line of a multi-line secret becomes the mask. */
  maskContent(content: string): string {
    return this.#maskLines(content, () => 0)
  }

  #maskLines(text: string, markerWidth: (line: string) => number | undefined): string {
    if (this.#values.size === 0) return text
    return text
      .split('\n')
      .map((l) => {
        const width = markerWidth(l)
        if (width === undefined) return this.mask(l)
        const body = l.slice(width).replace(/\r$/, '')
        return this.#lines.has(body) || this.mask(body) !== body ? `${l.slice(0, width)}${MASK}` : l
      })
      .join('\n')
  }

  /**
   * Cut `text` where a named secret stands in it as is (its raw text): the
   * runbook writes those parts as variable references. A secret in another form
   * (escaped, encoded) or one without a name stays in a literal part, which
   * `mask` still finds.
   */
  nameSecrets(text: string): NamedPart[] {
    if (this.#names.size === 0) return [{ text }]
    if (!this.#namePattern) {
      const alternatives = [...this.#names.keys()].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      this.#namePattern = new RegExp(alternatives.join('|'), 'g')
    }
    const parts: NamedPart[] = []
    let at = 0
    for (const m of text.matchAll(this.#namePattern)) {
      if (m.index > at) parts.push({ text: text.slice(at, m.index) })
      parts.push({ secret: this.#names.get(m[0]) as string })
      at = m.index + m[0].length
    }
    if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at) })
    return parts
  }

  /** The secret named `name` spans lines (a PEM key): a runbook reads it up to Ctrl-D, not up to Enter. */
  multiLine(name: string): boolean {
    for (const [text, known] of this.#names) if (known === name && text.includes('\n')) return true
    return false
  }

  get size(): number {
    return this.#values.size
  }

  mask(text: string): string {
    if (this.#values.size === 0 || text.length === 0) return text
    if (!this.#pattern) {
      const alternatives = [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      this.#pattern = new RegExp(alternatives.join('|'), 'g')
    }
    return text.replace(this.#pattern, MASK)
  }

  /** Mask every string inside a JSON-like value. */
  maskDeep<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T
    if (value instanceof Secret) return MASK as T
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v)) as T
    if (value && typeof value === 'object' && !(value instanceof Buffer)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = this.maskDeep(v)
      return out as T
    }
    return value
  }
}
