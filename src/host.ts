// A Host: name, address, variables, and a connection. `host.$\`cmd ${arg}\`` runs a
// command remotely, every interpolation quoted as one POSIX word.
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'
import { readFile, writeFile, rename, rm } from 'node:fs/promises'
import type { Connection, ExecResult } from './connection/connection.ts'
import { CommandError, ConfigError, callSiteOutside } from './errors.ts'
import { Redactor, Secret, reveal } from './secrets.ts'
import { ShellCommand, quote, sh, type ShellValue } from './shell.ts'
import type { CommandEvent, FileWriteEvent } from './report/events.ts'

const ENGINE_DIR = dirname(fileURLToPath(import.meta.url))

export type Vars = Record<string, unknown>

export interface Become {
  user: string
  /** sudo's password, when sudoers asks for one. */
  password?: Secret | undefined
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
  /** Wall time of the exec, milliseconds. */
  durationMs: number
}

export interface HostInit {
  name: string
  address: string
  vars?: Vars
  connection: Connection
  redactor?: Redactor
  become?: Become | undefined
  /** The login user, so becoming that same user needs no sudo. */
  user?: string
  /** Where command and file-write events go (the run's reporter). */
  record?: (event: CommandEvent | FileWriteEvent) => void
}

export interface WriteFileOptions {
  mode?: string | undefined
  owner?: string | undefined
  group?: string | undefined
  /** Run on the candidate file before it replaces the real one; `%s` is the candidate's path. */
  validate?: string | undefined
  /** Keep the previous file as `PATH.<timestamp>.bak`. */
  backup?: boolean | undefined
  /** Masked in the recorded event (a file holding passwords, say). */
  sensitive?: boolean | undefined
}

export class Host {
  readonly name: string
  readonly address: string
  readonly vars: Vars
  readonly connection: Connection
  readonly redactor: Redactor
  readonly become: Become | undefined
  readonly user: string | undefined
  #record: (event: CommandEvent | FileWriteEvent) => void

  constructor(init: HostInit) {
    this.name = init.name
    this.address = init.address
    this.vars = init.vars ?? {}
    this.connection = init.connection
    this.redactor = init.redactor ?? new Redactor()
    this.become = init.become
    this.user = init.user
    this.#record = init.record ?? (() => {})
  }

  /** Run a command: `await host.$\`systemctl is-active ${unit}\``. Chain `.nothrow()`, `.quiet()`, `.timeout(ms)`, `.stdin(data)`. */
  $ = (strings: TemplateStringsArray, ...values: ShellValue[]): RemoteCommand => new RemoteCommand(this, sh(strings, ...values))

  /** Run an already built command. */
  run(command: ShellCommand | string): RemoteCommand {
    return new RemoteCommand(this, typeof command === 'string' ? new ShellCommand(command) : command)
  }

  /** A variable by dotted path, or a clear error naming it and where to set it. */
  need<T = unknown>(path: string, usedBy?: string): T {
    const value = lookup(this.vars, path)
    if (value === undefined)
      throw new ConfigError(`host ${this.name}: variable '${path}' is not set${usedBy ? ` (needed by ${usedBy})` : ''}`, {
        hint: `set it in host_vars/${this.name}.yml, in a group's group_vars, or with -e ${path}=VALUE`,
      })
    return value as T
  }

  /** A variable by dotted path, or the fallback. */
  var<T = unknown>(path: string, fallback?: T): T {
    const value = lookup(this.vars, path)
    return (value === undefined ? fallback : value) as T
  }

  /** Low level: run one command, wrapped for become, and record it. Never rejects on exit code. */
  async execRaw(command: ShellCommand, options: { stdin?: string | Buffer; timeoutMs?: number; quiet?: boolean } = {}): Promise<CommandResult> {
    for (const s of command.secrets) this.redactor.add(s)
    const { line, stdin } = this.#wrapBecome(command.text, options.stdin)
    const started = performance.now()
    const r: ExecResult = await this.connection.exec(line, {
      ...(stdin === undefined ? {} : { stdin }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    })
    const durationMs = performance.now() - started
    if (!options.quiet)
      this.#record({
        kind: 'command',
        host: this.name,
        command: this.redactor.mask(command.text),
        code: r.code,
        durationMs: Math.round(durationMs * 10) / 10,
        stdout: this.redactor.mask(r.stdout),
        stderr: this.redactor.mask(r.stderr),
      })
    if (r.timedOut) return { code: null, stdout: r.stdout, stderr: r.stderr || `timed out after ${options.timeoutMs} ms`, durationMs }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, durationMs }
  }

  /**
   * Replace a file atomically: the content goes to a temp file in the same
   * directory, gets its mode and owner, is validated, then renamed over the
   * target. One round trip. The write is recorded with its content (masked).
   */
  async writeFile(path: string, content: string | Buffer, opts: WriteFileOptions = {}): Promise<void> {
    const body = typeof content === 'string' ? Buffer.from(content) : content
    this.#record({
      kind: 'file_write',
      host: this.name,
      path,
      mode: opts.mode,
      owner: opts.owner,
      group: opts.group,
      content: opts.sensitive ? '(sensitive content not shown)' : this.redactor.mask(body.toString('utf8')),
    })
    await this.run(writeFileCommand(path, opts)).stdin(body)
  }

  /** Copy a local file to the host, replacing the remote one atomically. */
  async upload(localPath: string, remotePath: string, opts: WriteFileOptions = {}): Promise<void> {
    await this.writeFile(remotePath, await readFile(localPath), opts)
  }

  /** Copy a file from the host; the local file is replaced atomically (temp file, then rename). */
  async download(remotePath: string, localPath: string): Promise<void> {
    const content = await this.readFile(remotePath)
    const tmp = `${localPath}.berth-${process.pid}-${Date.now()}`
    try {
      await writeFile(tmp, content, { mode: 0o600 })
      await rename(tmp, localPath)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    }
  }

  /** Read a whole file (binary safe). */
  async readFile(path: string): Promise<Buffer> {
    const r = await this.$`base64 < ${path}`.quiet()
    return Buffer.from(r.stdout, 'base64')
  }

  #wrapBecome(line: string, stdin: string | Buffer | undefined): { line: string; stdin: string | Buffer | undefined } {
    const b = this.become
    if (!b || b.user === this.user) return { line, stdin }
    // -k: never rely on a cached sudo timestamp, so the password line (if any) is always consumed by sudo, not the command.
    const sudo = `sudo -H ${b.password ? '-S -k' : '-n'} -p '' -u ${quote(b.user)} -- sh -c ${quote(line)}`
    if (!b.password) return { line: sudo, stdin }
    const pw = reveal(b.password)
    this.redactor.add(pw)
    return { line: sudo, stdin: Buffer.concat([Buffer.from(pw + '\n'), Buffer.from(stdin ?? '')]) }
  }
}

/** The shell line that writes standard input to PATH atomically (exported for runbooks and tests). */
export function writeFileCommand(path: string, opts: WriteFileOptions = {}): ShellCommand {
  const steps: string[] = [
    `dir=$(dirname -- ${quote(path)})`,
    `tmp=$(mktemp "$dir/.berth.XXXXXXXX")`,
    `trap 'rm -f "$tmp"' EXIT`,
    `cat > "$tmp"`,
  ]
  if (opts.mode) steps.push(`chmod ${quote(opts.mode)} "$tmp"`)
  else steps.push(`if [ -e ${quote(path)} ]; then chmod --reference=${quote(path)} "$tmp"; else chmod 0644 "$tmp"; fi`)
  // Keep the current owner and group for whatever the caller does not set.
  if (!opts.owner || !opts.group) steps.push(`if [ -e ${quote(path)} ]; then chown --reference=${quote(path)} "$tmp"; fi`)
  if (opts.owner) steps.push(`chown ${quote(opts.owner)} "$tmp"`)
  if (opts.group) steps.push(`chgrp ${quote(opts.group)} "$tmp"`)
  if (opts.validate) {
    const v = opts.validate.includes('%s') ? opts.validate.split('%s').join('"$tmp"') : `${opts.validate} "$tmp"`
    steps.push(`{ ${v} ; } >&2 || { echo "validation failed: ${opts.validate.replace(/["\\$`]/g, '\\$&')}" >&2; exit 3; }`)
  }
  if (opts.backup) steps.push(`if [ -e ${quote(path)} ]; then cp -p ${quote(path)} ${quote(path)}."$(date +%Y%m%d%H%M%S)".bak; fi`)
  steps.push(`mv -f "$tmp" ${quote(path)}`, `trap - EXIT`)
  return new ShellCommand('set -e; ' + steps.join('; '))
}

function lookup(vars: Vars, path: string): unknown {
  let cur: unknown = vars
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

/**
 * A command not yet run, with chained execution options (as zx's ProcessPromise).
 * It runs once, when first awaited; it rejects with CommandError on a non-zero exit
 * unless `.nothrow()`.
 */
export class RemoteCommand implements PromiseLike<CommandResult> {
  #nothrow = false
  #quiet = false
  #timeoutMs: number | undefined
  #stdin: string | Buffer | undefined
  #promise: Promise<CommandResult> | undefined
  readonly callSite: string | undefined

  constructor(
    readonly host: Host,
    readonly command: ShellCommand,
  ) {
    this.callSite = callSiteOutside(ENGINE_DIR)
  }

  nothrow(): this {
    this.#nothrow = true
    return this
  }
  /** Leave this command out of the -v log and the recorded plan (probes). */
  quiet(): this {
    this.#quiet = true
    return this
  }
  timeout(ms: number): this {
    this.#timeoutMs = ms
    return this
  }
  stdin(data: string | Buffer): this {
    this.#stdin = data
    return this
  }

  then<A = CommandResult, B = never>(
    onFulfilled?: ((value: CommandResult) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#promise ??= this.#run()
    return this.#promise.then(onFulfilled, onRejected)
  }

  async #run(): Promise<CommandResult> {
    const r = await this.host.execRaw(this.command, {
      ...(this.#stdin === undefined ? {} : { stdin: this.#stdin }),
      ...(this.#timeoutMs === undefined ? {} : { timeoutMs: this.#timeoutMs }),
      quiet: this.#quiet,
    })
    if (r.code !== 0 && !this.#nothrow)
      throw new CommandError({
        host: this.host.name,
        command: this.host.redactor.mask(this.command.text),
        code: r.code,
        stderr: this.host.redactor.mask(r.stderr),
        stdout: this.host.redactor.mask(r.stdout),
        callSite: this.callSite,
        timedOut: r.code === null && this.#timeoutMs !== undefined,
      })
    return r
  }
}
