// `-e` values, as Ansible reads them, plus dotted keys:
//
//   -e 'version=1.2 msg="hello world"'    key=value pairs; values are strings; a value
//                                         wrapped in quotes loses them
//   -e pg.port=5433                       a dotted key sets one leaf: {pg: {port: '5433'}}
//   -e @vars.yml  /  -e @vars.json        a file of variables (may be vault-encrypted)
//   -e '{"replicas": 2}'                  a YAML/JSON object literal
//
// Extra vars have the highest precedence and, like every level, replace a variable
// as a whole (Ansible's hash_behaviour=replace). The one exception is a dotted key:
// `-e pg.port=5433` changes pg.port and keeps pg's other keys (pg.password from the
// vault, say), which is what anyone typing a dotted key means. Objects built from
// dotted keys carry a hidden LEAF_OVERRIDE mark; `applyExtraVars` honours it.
import { resolve } from 'node:path'
import { ConfigError } from '../errors.ts'
import type { Redactor } from '../secrets.ts'
import { VaultKeyring, type VaultPasswordSource } from './vault.ts'
import { YamlFile, isPlainObject, revealVaulted } from './yaml-file.ts'

/** Marks an object built from dotted `-e` keys: it overrides leaves, it does not replace. */
export const LEAF_OVERRIDE: unique symbol = Symbol('berth.extraVars.leafOverride')

const EXAMPLES = "-e key=value, -e 'a=1 b=\"two words\"', -e pg.port=5433, -e @vars.yml, or -e '{\"key\": 1}'"

/** Parse every `-e` value; each gives one object, applied in order after all inventory vars. */
export async function parseExtraVars(values: string[], cwd: string, vault: VaultPasswordSource[], redactor: Redactor): Promise<Record<string, unknown>[]> {
  const keyring = new VaultKeyring(vault)
  const parsed: Record<string, unknown>[] = []
  for (const value of values) {
    if (value.length === 0) continue
    parsed.push(await parseOne(value, cwd, keyring, redactor))
  }
  return parsed
}

async function parseOne(value: string, cwd: string, keyring: VaultKeyring, redactor: Redactor): Promise<Record<string, unknown>> {
  if (value.startsWith('@')) {
    const file = value.slice(1)
    if (file.length === 0) throw new ConfigError(`-e @: a file name must follow '@'`, { hint: EXAMPLES })
    const yaml = await YamlFile.read(resolve(cwd, file), file, keyring, redactor)
    return asVariables(await revealVaulted(yaml.toJS(yaml.root), keyring, redactor), `-e ${value}`, yaml.where(yaml.root))
  }
  if (value.startsWith('/') || value.startsWith('.'))
    throw new ConfigError(`-e ${value}: a file of variables needs '@' in front`, { hint: `-e @${value}` })
  if (value.startsWith('{') || value.startsWith('[')) {
    const yaml = YamlFile.parse(value, '-e')
    return asVariables(await revealVaulted(yaml.toJS(yaml.root), keyring, redactor), `-e ${value}`, '-e')
  }
  return parseKeyValues(value)
}

function asVariables(value: unknown, what: string, where: string): Record<string, unknown> {
  if (value === null || value === undefined) return {}
  if (isPlainObject(value)) return value
  throw new ConfigError(`${what}: expected variables (a map of names to values), found ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`, {
    where,
    hint: EXAMPLES,
  })
}

/** `key=value` pairs separated by whitespace; quotes group words. */
export function parseKeyValues(text: string): Record<string, unknown> {
  const vars: Record<string, unknown> = {}
  for (const token of splitWords(text)) {
    const eq = token.indexOf('=')
    if (eq <= 0) throw new ConfigError(`-e ${text}: '${token}' is not key=value`, { hint: EXAMPLES })
    const key = token.slice(0, eq).trim()
    const path = key.split('.')
    if (!/^[^\s"'=]+$/.test(key) || path.some((segment) => segment.length === 0))
      throw new ConfigError(`-e ${text}: '${key}' is not a variable name`, { hint: EXAMPLES })
    setPath(vars, path, unquote(token.slice(eq + 1).trim()))
  }
  return vars
}

/** Whitespace-separated words; a quoted stretch (quotes kept) does not split. */
function splitWords(text: string): string[] {
  const words: string[] = []
  let current = ''
  let quote: '"' | "'" | undefined
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quote) {
      current += c
      if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i]
      else if (c === quote) quote = undefined
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current)
      current = ''
      inWord = false
    } else {
      if (c === '"' || c === "'") quote = c
      current += c
      inWord = true
    }
  }
  if (quote) throw new ConfigError(`-e ${text}: a ${quote === '"' ? 'double' : 'single'} quote is not closed`)
  if (inWord) words.push(current)
  return words
}

/**
 * A value wholly wrapped in matching quotes loses them (as Ansible's unquote);
 * inside double quotes, \" \\ \n and \t are escapes. Anything else stays as typed.
 */
function unquote(value: string): string {
  if (value.length < 2) return value
  const first = value[0]
  if ((first !== '"' && first !== "'") || value[value.length - 1] !== first) return value
  const inner = value.slice(1, -1)
  if (first === "'") return inner
  return inner.replace(/\\(["\\nt])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c))
}

function setPath(vars: Record<string, unknown>, path: string[], value: string): void {
  const [head, ...rest] = path as [string, ...string[]]
  if (rest.length === 0) {
    vars[head] = value
    return
  }
  let child = vars[head]
  if (!isLeafOverride(child)) {
    child = leafOverride({})
    vars[head] = child
  }
  setPath(child as Record<string, unknown>, rest, value)
}

function leafOverride(object: Record<string, unknown>): Record<string, unknown> {
  Object.defineProperty(object, LEAF_OVERRIDE, { value: true, enumerable: false })
  return object
}

export function isLeafOverride(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && (value as { [LEAF_OVERRIDE]?: boolean })[LEAF_OVERRIDE] === true
}

/**
 * Apply one parsed `-e` object to a host's variables (in place): top-level keys
 * replace, leaf overrides from dotted keys merge into the existing value.
 */
export function applyExtraVars(vars: Record<string, unknown>, extra: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(extra)) vars[key] = isLeafOverride(value) ? overlay(vars[key], value) : value
}

function overlay(base: unknown, override: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = isPlainObject(base) ? { ...base } : {}
  for (const [key, value] of Object.entries(override)) result[key] = isLeafOverride(value) ? overlay(result[key], value) : value
  return result
}
