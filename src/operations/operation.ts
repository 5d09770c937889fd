// Operations: what a plan does to a host, as data. A resource's plan is a pure
// function from facts to a list of these; one executor (execute.ts) runs them
// and the same list prints as a runbook (report/runbook.ts), so what berth
// does and what an operator pastes by hand are one thing.
//
// Four kinds: run a command (with its standard input), write a file (exact
// bytes and attributes, and the content the plan expected to replace), wait
// until a probe succeeds, and a guard: a shell test that decides on the host
// whether the operations under it run, so a rule ("restart only if a setting
// waits for it") is recorded as the rule, not as the branch one run took.
import type { ShellCommand } from '../shell.ts'

export interface RunOperation {
  readonly kind: 'run'
  readonly command: ShellCommand
  /** Standard input, exact bytes (SQL for psql, say). */
  readonly stdin?: Buffer | undefined
  /** Kill the command after this long. */
  readonly timeoutMs?: number | undefined
  /** The input is never shown (SQL with a password verifier): records name it only. */
  readonly sensitive?: boolean | undefined
}

export interface WriteOperation {
  readonly kind: 'write'
  readonly path: string
  readonly content: Buffer
  readonly mode?: string | undefined
  readonly owner?: string | undefined
  readonly group?: string | undefined
  /** Run on the candidate before it replaces the file; `%s` is the candidate's path. */
  readonly validate?: string | undefined
  /** Keep the previous file as `PATH.<timestamp>.bak`. */
  readonly backup?: boolean | undefined
  /** Create missing parent directories (0755) first. */
  readonly makeParents?: boolean | undefined
  /** Content that is never shown (keys, passwords): the runbook and the log name the file only. */
  readonly sensitive?: boolean | undefined
  /** What the plan expected to replace: the current content's sha256 (hex), or 'absent'. A file changed since is refused, not clobbered. */
  readonly replaces?: string | undefined
}

/**
 * A file copied from the controller as is (an installer, an image archive):
 * too big to carry in a plan as bytes. The runbook asks the operator to copy
 * it onto the host first and checks its sha256 before placing it.
 */
export interface UploadOperation {
  readonly kind: 'upload'
  /** The file on the controller. */
  readonly source: string
  readonly path: string
  /** The source's sha256 when the plan was made: a source changed since is refused. */
  readonly sha256: string
  readonly bytes: number
  readonly mode?: string | undefined
  readonly owner?: string | undefined
  readonly group?: string | undefined
  readonly replaces?: string | undefined
}

export interface WaitOperation {
  readonly kind: 'wait'
  /** Succeeds (exit 0) once the wait is over. */
  readonly probe: ShellCommand
  /** What is waited for, in words: 'PostgreSQL accepts connections'. */
  readonly what: string
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Pause this long before the first probe. */
  readonly delayMs?: number | undefined
}

export interface GuardOperation {
  readonly kind: 'guard'
  /** Exit 0: the operations under it run; any other exit: they are skipped. */
  readonly test: ShellCommand
  /** Why, in words: 'a setting waits for a restart'. */
  readonly why: string
  readonly then: readonly Operation[]
}

export type Operation = RunOperation | WriteOperation | UploadOperation | WaitOperation | GuardOperation

const bytes = (data: string | Buffer): Buffer => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data)

export function runOp(
  command: ShellCommand,
  options: { stdin?: string | Buffer | undefined; timeoutMs?: number | undefined; sensitive?: boolean | undefined } = {},
): RunOperation {
  return { kind: 'run', command, stdin: options.stdin === undefined ? undefined : bytes(options.stdin), timeoutMs: options.timeoutMs, ...(options.sensitive ? { sensitive: true } : {}) }
}

export function writeOp(path: string, content: string | Buffer, attributes: Omit<WriteOperation, 'kind' | 'path' | 'content'> = {}): WriteOperation {
  return { kind: 'write', path, content: bytes(content), ...attributes }
}

export function uploadOp(source: string, path: string, file: { sha256: string; bytes: number }, attributes: Pick<UploadOperation, 'mode' | 'owner' | 'group' | 'replaces'> = {}): UploadOperation {
  return { kind: 'upload', source, path, sha256: file.sha256, bytes: file.bytes, ...attributes }
}

export function waitOp(probe: ShellCommand, what: string, options: { intervalMs?: number; timeoutMs?: number; delayMs?: number } = {}): WaitOperation {
  return { kind: 'wait', probe, what, intervalMs: options.intervalMs ?? 1000, timeoutMs: options.timeoutMs ?? 60_000, ...(options.delayMs ? { delayMs: options.delayMs } : {}) }
}

export function guardOp(test: ShellCommand, why: string, then: readonly Operation[]): GuardOperation {
  return { kind: 'guard', test, why, then }
}
