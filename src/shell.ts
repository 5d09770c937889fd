// POSIX shell quoting and the sh`` tag.
//
// Every interpolated value becomes exactly one shell word (an array becomes one
// word per element), quoted with single quotes only: bash's $'…' is not POSIX and
// the remote login shell may be dash.
import { Secret } from './secrets.ts'

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

/** Build a command: `sh\`cp ${src} ${dst}\``; each interpolation is one word (arrays: several). */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellCommand {
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
