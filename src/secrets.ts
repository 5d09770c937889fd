// Secret values and the redactor that masks them in every output.
//
// A run owns one Redactor (no process-wide state): the inventory registers every
// vault value in it, playbooks may register more, and every formatter, log line and
// error message passes through it.

const MASK = '********'

/** A value that must never be printed. `String(secret)` is masked on purpose. */
export class Secret {
  readonly #value: string
  constructor(value: string) {
    this.#value = value
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

export const secret = (value: string): Secret => new Secret(value)

/** Reveal a possibly secret value; a plain string passes through. */
export const reveal = (value: string | Secret): string => (value instanceof Secret ? value.reveal() : value)

export class Redactor {
  #values = new Set<string>()
  #pattern: RegExp | undefined

  /** Register a secret; values shorter than 3 characters would mask noise, so they are refused. */
  add(value: string | Secret): void {
    const text = reveal(value)
    if (text.length < 3) return
    for (const v of [text, ...text.split('\n').filter((l) => l.length >= 6)]) this.#values.add(v)
    this.#pattern = undefined
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
