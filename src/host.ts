// A Host: name, address, variables, and a connection. `host.$\`cmd ${arg}\`` runs a
// command remotely, every interpolation quoted as one POSIX word.
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
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
  /** Exit code; null when the command was killed by a signal, timed out, or ended without an exit status. */
  code: number | null
  /** The signal that ended the command, when one did ('SIGKILL'). */
  signal?: string | undefined
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
  /** Create missing parent directories first (mode 0755, as `mkdir -p`), as Ansible's lineinfile `create` does. */
  makeParents?: boolean | undefined
  /**
   * What the plan read at PATH: the sha256 (hex) of its content, or 'absent'.
   * If the file is no longer that when the write lands, it is refused (exit 4)
   * rather than clobbering a change made since.
   */
  replaces?: string | undefined
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

  /**
   * Low level: run one command, wrapped for become, and record it. Never rejects
   * on exit code. A command holding a NUL byte is refused before anything runs
   * (ConfigError, at `callSite`); a command too long for one argument travels on
   * standard input ahead of the command's own (see scriptOnStdin).
   */
  async execRaw(
    command: ShellCommand,
    options: { stdin?: string | Buffer; timeoutMs?: number; quiet?: boolean; callSite?: string | undefined } = {},
  ): Promise<CommandResult> {
    for (const s of command.secrets) this.redactor.add(s)
    const nul = command.text.indexOf('\0')
    if (nul >= 0) {
      const shown = this.redactor.mask(command.text).replace(/\0/g, '\\0')
      throw new ConfigError(
        `${this.name}: command refused before it ran: it holds a NUL byte (at character ${nul}), which no command line or argument can carry: ${shown.length > 300 ? shown.slice(0, 300) + '…' : shown}`,
        {
          ...(options.callSite ? { where: options.callSite } : {}),
          hint: 'a NUL byte usually comes from binary data or a file read into a variable: send binary data with .stdin(data) or host.writeFile(), or strip the NUL bytes',
        },
      )
    }
    let text = command.text
    let input = options.stdin
    if (longestArgument(this.#wrapBecome(text, undefined).line) > ARGUMENT_LIMIT) ({ text, stdin: input } = scriptOnStdin(text, input))
    const { line, stdin } = this.#wrapBecome(text, input)
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
    return { code: r.code, ...(r.signal ? { signal: r.signal } : {}), stdout: r.stdout, stderr: r.stderr, durationMs }
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
      content: opts.sensitive ? '(sensitive content not shown)' : shownContent(body, this.redactor),
    })
    await this.run(writeFileCommand(path, opts)).stdin(writeFileStdin(body))
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

/** Content as an event shows it: text, masked; a large or binary file (an installer, an image archive) by its size only. */
function shownContent(body: Buffer, redactor: Redactor): string {
  if (body.length > SHOWN_CONTENT_LIMIT || body.subarray(0, 8192).includes(0)) return `(${body.length} bytes, binary or over ${SHOWN_CONTENT_LIMIT} bytes: not shown)`
  return redactor.mask(body.toString('utf8'))
}
const SHOWN_CONTENT_LIMIT = 1024 * 1024

/**
 * What writeFileCommand reads on standard input: one header line, `SIZE SHA256`,
 * then the content itself.
 */
export function writeFileStdin(content: Buffer): Buffer {
  const sum = createHash('sha256').update(content).digest('hex')
  return Buffer.concat([Buffer.from(`${content.length} ${sum}\n`), content])
}

/**
 * The shell line that writes standard input to PATH atomically (exported for
 * runbooks and tests). Standard input is writeFileStdin(content): a header line
 * with the content's size and sha256, then the content. The content goes to a
 * temp file in PATH's directory and is renamed over PATH only once all of it has
 * arrived and its checksum matches: a channel that drops ends `cat` early just as
 * a finished upload does, so without the check a cut connection (or a killed
 * controller) would rename a truncated file into place. PATH is always either
 * the old file or the whole new one.
 */
export function writeFileCommand(path: string, opts: WriteFileOptions = {}): ShellCommand {
  const p = quote(path)
  const steps: string[] = [
    // `read` takes the header line byte by byte, so `cat` gets exactly the content.
    `IFS=' ' read -r size sum || { echo "berth: no content arrived for "${p} >&2; exit 5; }`,
    `case "$size" in ''|*[!0-9]*) echo "berth: standard input does not start with the size and sha256 of the content for "${p} >&2; exit 5 ;; esac`,
    `dir=$(dirname -- ${p})`,
    ...(opts.makeParents ? ['mkdir -p -m 0755 -- "$dir"'] : []),
    `tmp=$(mktemp "$dir/.berth.XXXXXXXX")`,
    `trap 'rm -f "$tmp"' EXIT`,
    `trap 'exit 1' HUP INT TERM PIPE`,
    `cat > "$tmp"`,
    // The checksum covers the size too; the size is read only to say what went wrong.
    `s=$(sha256sum < "$tmp")`,
    `[ "\${s%% *}" = "$sum" ] || { got=$(wc -c < "$tmp"); if [ "$got" -ne "$size" ]; then echo "berth: only $got of $size bytes arrived for "${p}" (the connection was cut?); it was not changed" >&2; else echo "berth: the content that arrived for "${p}" does not match its sha256; it was not changed" >&2; fi; exit 5; }`,
  ]
  steps.push(...placeTempFileSteps(path, opts))
  steps.push(`trap - EXIT`)
  return new ShellCommand('set -e; ' + steps.join('; '))
}

/**
 * The steps after the content is in "$tmp" (a temp file in PATH's directory):
 * its mode and owner (the current file's for what is not set), validation, the
 * backup, and the rename into place. Shared by writeFileCommand and the
 * runbook, so a file pasted by hand lands exactly as berth writes it.
 */
export function placeTempFileSteps(path: string, opts: WriteFileOptions = {}): string[] {
  const p = quote(path)
  const steps: string[] = []
  if (opts.mode) steps.push(`chmod ${quote(opts.mode)} "$tmp"`)
  else steps.push(`if [ -e ${p} ]; then chmod --reference=${p} "$tmp"; else chmod 0644 "$tmp"; fi`)
  // Keep the current owner and group for whatever the caller does not set.
  if (!opts.owner || !opts.group) steps.push(`if [ -e ${p} ]; then chown --reference=${p} "$tmp"; fi`)
  if (opts.owner) steps.push(`chown ${quote(opts.owner)} "$tmp"`)
  if (opts.group) steps.push(`chgrp ${quote(opts.group)} "$tmp"`)
  if (opts.validate) {
    const v = opts.validate.includes('%s') ? opts.validate.split('%s').join('"$tmp"') : `${opts.validate} "$tmp"`
    // The message names the candidate as what it is (the %s of the command line), not a temporary name.
    const shown = opts.validate.includes('%s') ? opts.validate.split('%s').join(`<new ${path}>`) : `${opts.validate} <new ${path}>`
    steps.push(`{ ${v} ; } >&2 || { echo "validation failed: ${shown.replace(/["\\$`]/g, '\\$&')}" >&2; exit 3; }`)
  }
  if (opts.replaces === 'absent')
    steps.push(`if [ -e ${p} ] || [ -L ${p} ]; then echo ${quote(`${path} appeared after berth read it: not overwritten; run again to plan on what is there now`)} >&2; exit 4; fi`)
  else if (opts.replaces !== undefined)
    steps.push(
      `if [ "$({ sha256sum < ${p}; } 2>/dev/null | cut -c1-64)" != ${quote(opts.replaces)} ]; then echo ${quote(`${path} changed after berth read it: not overwritten; run again to plan on what is there now`)} >&2; exit 4; fi`,
    )
  if (opts.backup) steps.push(`if [ -e ${p} ]; then cp -p ${p} ${p}."$(date +%Y%m%d%H%M%S)".bak; fi`)
  steps.push(`mv -f "$tmp" ${p}`)
  return steps
}

/**
 * The longest command line sent as an argument. The kernel takes at most 128 KiB
 * in one argument (MAX_ARG_STRLEN: sshd runs the login shell with the whole
 * line as one), and sshd at most 256 KB in one request; longer commands go on
 * standard input (scriptOnStdin).
 */
export const ARGUMENT_LIMIT = 100_000

/** Bytes of the longest argument `line` becomes on the way: ssh quotes it once more for the login shell's `-c`. */
function longestArgument(line: string): number {
  let quotes = 0
  for (let i = line.indexOf("'"); i >= 0; i = line.indexOf("'", i + 1)) quotes++
  return Buffer.byteLength(line) + 3 * quotes + 16
}

/**
 * A command sent on standard input instead of as an argument, so its size has
 * no limit: a short bootstrap reads exactly the script's bytes (dd, which never
 * reads past them, so the command's own standard input follows intact), checks
 * that the end marker arrived (a dropped connection never runs a cut script:
 * a shell reading its script from a pipe as it goes, `sh -s`, would run the
 * first half of one), then evals it in the same shell, with no exec and so no
 * argument to outgrow. Exported for tests.
 */
export function scriptOnStdin(script: string, stdin: string | Buffer | undefined): { text: string; stdin: Buffer } {
  // The end line is a comment; it is taken off again before the eval (`?` matches its '#': no quotes in the pattern).
  const tag = `berth-end-${randomBytes(6).toString('hex')}`
  const payload = Buffer.from(`${script}\n#${tag}`)
  const text =
    `berth_script=$(dd bs=${payload.length} count=1 iflag=fullblock status=none) && case "$berth_script" in *?${tag}) ;; *) false ;; esac || ` +
    `{ echo "berth: the command (${payload.length} bytes, sent on standard input) did not arrive whole; nothing of it ran" >&2; exit 125; }; ` +
    `eval "\${berth_script%?${tag}}"`
  return { text, stdin: Buffer.concat([payload, Buffer.from(stdin ?? '')]) }
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
      callSite: this.callSite,
    })
    if (r.code !== 0 && !this.#nothrow)
      throw new CommandError({
        host: this.host.name,
        command: this.host.redactor.mask(this.command.text),
        code: r.code,
        signal: r.signal,
        stderr: this.host.redactor.mask(r.stderr),
        stdout: this.host.redactor.mask(r.stdout),
        callSite: this.callSite,
        timedOut: r.code === null && this.#timeoutMs !== undefined,
      })
    return r
  }
}
