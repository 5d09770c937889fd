// POSIX shell quoting and the sh`` tag.
//
// Every interpolated value becomes exactly one shell word (an array becomes one
// word per element), quoted with single quotes only: bash's $'…' is not POSIX and
// the remote login shell may be dash.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Secret } from './secrets.ts'
import { ConfigError, callSiteOutside } from './errors.ts'

const ENGINE_DIR = dirname(fileURLToPath(import.meta.url))

/** A shell command line ready to run, plus the secret values it carries (for masking). */
export class ShellCommand {
  constructor(
    readonly text: string,
    readonly secrets: readonly string[] = [],
  ) {}
  toString(): string {
    return this.text
  }
}

export type ShellValue = string | number | bigint | boolean | Secret | ShellCommand | RawShell | readonly ShellValue[]

/** Text inserted verbatim, for operators and redirections a caller builds on purpose. */
export class RawShell {
  constructor(readonly text: string) {}
}
export const raw = (text: string): RawShell => new RawShell(text)

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quote one value as a single POSIX shell word. */
export function quote(value: string): string {
  if (value === '') return "''"
  if (SAFE_WORD.test(value)) return value
  return `'${value.replace(/'/g, `'\\''`)}'`
}

function render(value: ShellValue, secrets: string[]): string {
  if (Array.isArray(value)) return (value as readonly ShellValue[]).map((v) => render(v, secrets)).join(' ')
  if (value instanceof Secret) {
    secrets.push(value.reveal())
    return quote(value.reveal())
  }
  if (value instanceof ShellCommand) {
    secrets.push(...value.secrets)
    return value.text
  }
  if (value instanceof RawShell) return value.text
  return quote(String(value))
}

/** What a value that is no shell word is, for the error; undefined when it is one. */
function notAWord(value: unknown): string | undefined {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) {
      const bad = notAWord(v)
      if (bad) return `an array holding ${bad}`
    }
    return undefined
  }
  if (value instanceof Secret || value instanceof ShellCommand || value instanceof RawShell) return undefined
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  // No argument can carry a NUL: the kernel ends the string there, so the command would differ from the text.
  if (typeof value === 'string' && value.includes('\0')) return 'a string holding a NUL byte'
  if (value instanceof Secret && value.reveal().includes('\0')) return 'a secret holding a NUL byte'
  return undefined
}

/**
 * Build a command: `sh\`cp ${src} ${dst}\``; each interpolation is one word
 * (arrays: several). `undefined`, `null` or an object would run as the words
 * "undefined", "null", "[object Object]": refused with the caller's file:line.
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand {
  values.forEach((value, i) => {
    const bad = notAWord(value)
    if (bad === undefined) return
    const before = (strings[i] ?? '').slice(-30)
    throw new ConfigError(`a command interpolates ${bad} where a shell word belongs: \`${before}\${…}\``, {
      where: callSiteOutside(ENGINE_DIR),
      hint: 'a variable that is not set yet, or an object where one of its fields was meant; pass a string, number or array of them',
    })
  })
  const secrets: string[] = []
  let text = strings[0] ?? ''
  values.forEach((value, i) => {
    text += render(value, secrets) + (strings[i + 1] ?? '')
  })
  return new ShellCommand(text, secrets)
}

/** Join commands with `&&`, keeping the secrets each carries. */
export function andThen(...commands: ShellCommand[]): ShellCommand {
  return new ShellCommand(
    commands.map((c) => c.text).join(' && '),
    commands.flatMap((c) => c.secrets),
  )
}
