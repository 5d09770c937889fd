// Errors a user can act on. `BerthError`s are printed as one paragraph without a
// stack trace (`-v` adds it); anything else is a bug in berth and keeps its stack.

export class BerthError extends Error {
  /** Where the problem is, as `file:line` when known. */
  readonly where: string | undefined
  /** What the user can do about it. */
  readonly hint: string | undefined
  constructor(message: string, opts: { where?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.where = opts.where
    this.hint = opts.hint
  }
  /** One paragraph: where, what, and what to do. */
  describe(): string {
    return [this.where ? `${this.where}: ${this.message}` : this.message, this.hint].filter(Boolean).join('\n  ')
  }
}

/** The inventory, a variable, a flag or a playbook's own code is wrong. Nothing was touched. */
export class ConfigError extends BerthError {}

/** A role was given an option it cannot work with. Raised before any host is touched. */
export class RoleOptionError extends ConfigError {
  constructor(
    readonly role: string,
    readonly option: string,
    problem: string,
    hint?: string,
  ) {
    super(`role ${role}: option '${option}' ${problem}`, hint ? { hint } : {})
  }
}

/** A host could not be reached or authenticated: the host is UNREACHABLE, the others go on. */
export class UnreachableError extends BerthError {
  constructor(
    readonly host: string,
    reason: string,
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(`${host}: unreachable: ${reason}`, opts)
  }
}

/** The host's key does not match the one on record: refused, never overridden silently. */
export class HostKeyError extends UnreachableError {}

export interface CommandFailure {
  host: string
  /** The command as run, secrets masked. */
  command: string
  code: number | null
  signal?: string | undefined
  stderr: string
  stdout: string
  /** `file:line` of the playbook or role code that issued the command. */
  callSite?: string | undefined
  timedOut?: boolean
}

const TAIL_LINES = 12

export function tail(text: string, lines = TAIL_LINES): string {
  const all = text.trimEnd().split('\n')
  return all.slice(-lines).join('\n')
}

/** A remote command exited non-zero (or timed out). Carries everything needed to act on it. */
export class CommandError extends BerthError implements CommandFailure {
  readonly host: string
  readonly command: string
  readonly code: number | null
  readonly signal: string | undefined
  readonly stderr: string
  readonly stdout: string
  readonly callSite: string | undefined
  readonly timedOut: boolean
  constructor(f: CommandFailure) {
    const status = f.timedOut ? 'timed out' : f.signal ? `was killed by ${f.signal}` : `exited with code ${f.code}`
    const stderrTail = tail(f.stderr) || tail(f.stdout)
    super(
      `${f.host}: command ${status}: ${f.command}` + (stderrTail ? `\n  stderr (last lines):\n    ${stderrTail.replace(/\n/g, '\n    ')}` : ''),
      { where: f.callSite },
    )
    this.host = f.host
    this.command = f.command
    this.code = f.code
    this.signal = f.signal
    this.stderr = f.stderr
    this.stdout = f.stdout
    this.callSite = f.callSite
    this.timedOut = f.timedOut ?? false
  }
}

/** The frames of a stack in files of ours or the user's: node's own and libraries' (node_modules) left out. */
export function stackFrames(stack: string): { file: string; line: number }[] {
  const frames: { file: string; line: number }[] = []
  for (const text of stack.split('\n').slice(1)) {
    if (text.includes('node:')) continue
    const m = /(?:^|[(\s])((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(text.trim())
    if (!m || !m[1] || !m[2]) continue
    const file = m[1].replace(/^file:\/\//, '')
    if (!file.includes('/node_modules/')) frames.push({ file, line: Number(m[2]) })
  }
  return frames
}

/** `file:line` of the first stack frame outside berth's own engine code. */
export function callSiteOutside(dir: string, stack = new Error().stack ?? ''): string | undefined {
  const frame = stackFrames(stack).find((f) => !f.file.startsWith(dir))
  return frame ? `${frame.file}:${frame.line}` : undefined
}
