// `template`: a file rendered from an ejs template, then managed as copy does.
//
// Rendering happens when the task is built, on the controller, so a broken
// template or a missing variable fails before any host is touched, with the
// template's file:line.
//
// How berth templates are written (ejs options: strict, localsName 'it', no `with`):
// - Variables are read from `it`: `listen_addresses = '<%= it.listen %>'`. There is
//   no `with` scope, so a template sees only what it is given (no stray globals).
// - Reading a variable that was not passed is an error naming the template's
//   file:line and the variable, nested plain objects included (`it.pg.port`).
//   Test an optional one with `'name' in it`, or pass it as null.
// - `<%= %>` and `<%- %>` both print the value unescaped: these are configuration
//   files, not HTML (ejs would turn `&` into `&amp;`). null and undefined print ''.
// - A Secret prints its real value, and then the file is sensitive: no diff, and the
//   recorded write is masked.
// - ejs trimming as usual: `-%>` drops the newline after a tag, `<%_ _%>` the spaces.
// - `include('other.ejs', { more })` resolves next to the template; an included
//   template gets the variables as a plain copy, without the missing-variable check.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { createRequire } from 'node:module'
import type Ejs from 'ejs'
import { ConfigError, callSiteOutside } from '../errors.ts'
import { Secret } from '../secrets.ts'
import { argumentError, checkAbsolutePath } from './file.ts'
import { checkContentOptions, contentResource } from './copy.ts'
import { task, type Task } from './resource.ts'

// The engine's own folder: the caller of template() is looked for outside it.
const ENGINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')

// ejs is loaded on the first template rendered: a playbook without templates never pays for it.
let ejsModule: typeof Ejs | undefined
const ejs = (): typeof Ejs => (ejsModule ??= createRequire(import.meta.url)('ejs') as typeof Ejs)

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const DEFAULT_TEMPLATES_DIR = join(REPOSITORY_ROOT, 'templates')

export type TemplateVars = Record<string, unknown>

export interface TemplateOptions {
  path: string
  /** Path of the ejs file inside templatesDir: 'postgresql/pg_hba.conf.ejs'. */
  src: string
  vars: TemplateVars
  owner?: string
  group?: string
  mode?: string
  validate?: string
  backup?: boolean
  /** Forced on when a Secret is printed. */
  sensitive?: boolean
  /** Default: the repository's templates/ folder. */
  templatesDir?: string
}

export interface Rendered {
  text: string
  /** A Secret's value was printed: the result must be treated as sensitive. */
  revealsSecret: boolean
}

/** Thrown by the variables' proxy; ejs adds the template's file:line to its message. */
class MissingVariable extends Error {
  constructor(readonly variable: string) {
    super(`variable '${variable}' is not set`)
  }
}

/** A path as the user reads it: relative to the repository when inside it. */
function displayPath(file: string): string {
  const rel = relative(REPOSITORY_ROOT, file)
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel
}

const lineOf = (text: string, index: number): number => text.slice(0, index).split('\n').length

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A proxy's get must return a frozen property's own value (a Proxy invariant). */
const isFrozenProperty = (target: object, key: string | symbol): boolean => {
  const descriptor = Reflect.getOwnPropertyDescriptor(target, key)
  return descriptor !== undefined && descriptor.configurable === false && descriptor.writable === false
}

/** Variables that throw on a missing name and print Secrets' real values. */
function strictVariables(value: unknown, path: string, onSecret: () => void): unknown {
  if (value instanceof Secret) {
    onSecret()
    return value.reveal()
  }
  if (Array.isArray(value))
    return new Proxy(value, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver)
        if (typeof key !== 'string' || !/^\d+$/.test(key) || isFrozenProperty(target, key)) return v
        return strictVariables(v, `${path}[${key}]`, onSecret)
      },
    })
  if (isPlainObject(value))
    return new Proxy(value, {
      get(target, key, receiver) {
        const name = typeof key === 'string' ? (path ? `${path}.${key}` : key) : ''
        if (typeof key === 'symbol' || key in target) {
          const v: unknown = Reflect.get(target, key, receiver)
          return typeof key === 'symbol' || isFrozenProperty(target, key) ? v : strictVariables(v, name, onSecret)
        }
        // Asked by JSON.stringify and by await: absence is the normal answer.
        if (key === 'toJSON' || key === 'then') return undefined
        throw new MissingVariable(name)
      },
    })
  return value
}

/** Where an ejs syntax error is: compile ejs's generated code ourselves, V8 then names a line of it. */
function syntaxErrorLine(template: Ejs.Template): number | undefined {
  const source = template.source
  if (!source) return undefined
  try {
    new Script(`(function (it, escapeFn, include, rethrow) { "use strict";\n${source}\n})`, { filename: 'ejs-generated' })
    return undefined
  } catch (e) {
    const m = /^ejs-generated:(\d+)/.exec((e as Error).stack ?? '')
    if (!m) return undefined
    // Generated line N is source line N-1 (one line of wrapper); ejs marks template lines with `; __line = L`.
    const lines = source.split('\n').slice(0, Number(m[1]) - 1)
    for (let i = lines.length - 1; i >= 0; i--) {
      const marker = /^\s*; __line = (\d+)$/.exec(lines[i] ?? '')
      if (marker) return Number(marker[1])
    }
    return 1
  }
}

/** The line of an opening tag that is never closed. */
function unclosedTagLine(text: string): number | undefined {
  let open: number | undefined
  for (const m of text.matchAll(/<%%|%%>|<%[=\-_#]?|[-_]?%>/g)) {
    const token = m[0]
    if (token === '<%%' || token === '%%>') continue
    if (token.startsWith('<%')) {
      if (open !== undefined) return lineOf(text, open)
      open = m.index
    } else open = undefined
  }
  return open === undefined ? undefined : lineOf(text, open)
}

const printRaw = (value: unknown): string => (value === undefined || value === null ? '' : String(value))

/** Render an ejs template from templatesDir; every failure is a ConfigError with file:line. */
export function renderTemplate(src: string, vars: TemplateVars, templatesDir: string = DEFAULT_TEMPLATES_DIR): Rendered {
  const file = resolve(templatesDir, src)
  const shown = displayPath(file)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ConfigError(`template ${shown} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: `templates are read from ${displayPath(templatesDir)}/`,
    })
  }

  const options: Ejs.Options & { unsafePrototypeLocals: boolean } = {
    filename: file,
    strict: true,
    localsName: 'it',
    escape: printRaw,
    // Hand our proxy to the template as is; ejs would otherwise copy it into a plain object.
    unsafePrototypeLocals: true,
  }
  const compiled = new (ejs().Template)(text, options)
  let render: (data: unknown) => string
  try {
    render = compiled.compile() as (data: unknown) => string
  } catch (e) {
    const message = (e as Error).message.split('\n')[0] ?? ''
    const line = e instanceof SyntaxError ? syntaxErrorLine(compiled) : unclosedTagLine(text)
    throw new ConfigError(`template syntax error: ${message.replace(/ in \S+ while compiling ejs$/, '')}`, {
      where: line === undefined ? shown : `${shown}:${line}`,
      hint: 'see the ejs syntax: <% code %>, <%= value %>, <%# comment %>, -%> to trim the newline',
    })
  }

  let revealsSecret = false
  try {
    const rendered = render(strictVariables(vars, '', () => (revealsSecret = true)))
    return { text: rendered, revealsSecret }
  } catch (e) {
    const error = e as Error
    // ejs's rethrow prefixes the message with "FILE:LINE", context lines and a blank line,
    // once per template the error passes through (includes): the innermost one is last.
    let message = error.message
    let where = shown
    for (let m = /^(.*):(\d+)\n[\s\S]*?\n\n/.exec(message); m; m = /^(.*):(\d+)\n[\s\S]*?\n\n/.exec(message)) {
      where = `${displayPath(m[1] ?? file)}:${m[2]}`
      message = message.slice(m[0].length)
    }
    if (error instanceof MissingVariable)
      throw new ConfigError(`template variable '${error.variable}' is not set`, {
        where,
        hint: `pass it in vars (template({ src: '${src}', vars: { … } })); for an optional one, test it with 'name' in it`,
      })
    throw new ConfigError(`template failed: ${error.name}: ${message}`, { where })
  }
}

/**
 * Where a template is looked up when no templatesDir is given: beside the code
 * that calls template() (a role's own folder) when the file is there, else the
 * repository's templates/ (templates/<role>/… by convention).
 */
function templatesDirFor(src: string): string {
  const site = callSiteOutside(ENGINE_DIR)
  const callerDir = site ? dirname(site.replace(/:\d+$/, '')) : undefined
  return callerDir && !isAbsolute(src) && existsSync(join(callerDir, src)) ? callerDir : DEFAULT_TEMPLATES_DIR
}

export function template(options: TemplateOptions): Task {
  const path = checkAbsolutePath('template', 'path', options.path)
  if (typeof options.src !== 'string' || options.src === '') throw argumentError('template', 'src', "must name a template file, e.g. 'motd.ejs'")
  if (!isPlainObject(options.vars)) throw argumentError('template', 'vars', 'must be an object of variables')
  const checked = checkContentOptions('template', options)
  const rendered = renderTemplate(options.src, options.vars, options.templatesDir ?? templatesDirFor(options.src))
  return task(
    contentResource(
      `template ${path}`,
      path,
      { content: Buffer.from(rendered.text, 'utf8') },
      { ...checked, sensitive: (options.sensitive ?? false) || rendered.revealsSecret },
    ),
  )
}
