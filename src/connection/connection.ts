// What the engine needs from a way of reaching a host. Implementations: ssh.ts
// (ssh2, pooled), local.ts (child_process, for `ansible_connection: local`) and
// fake.ts (tests: a table of commands to results).

export interface ExecOptions {
  /** Bytes written to the command's standard input, then EOF. */
  stdin?: string | Buffer
  /** Kill the command (and fail) after this many milliseconds. */
  timeoutMs?: number
}

export interface ExecResult {
  /** Exit code; null when the command was killed by a signal or timed out. */
  code: number | null
  signal?: string | undefined
  stdout: string
  stderr: string
  timedOut?: boolean
}

export interface Connection {
  /** A human description for errors and -v: `ssh root@10.0.0.2:22`, `local`. */
  readonly description: string
  /** Open the transport; rejects with UnreachableError (or HostKeyError). Idempotent. */
  connect(): Promise<void>
  /**
   * Run one command line with POSIX `sh -c` semantics. Never rejects on a non-zero
   * exit. Rejects with UnreachableError when the host cannot be reached, and with
   * a plain BerthError, before sending anything, for a line the transport cannot
   * carry (a NUL byte; over 128 KiB locally, 256 KB over SSH). Host keeps both
   * from getting here.
   */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>
  close(): Promise<void>
}
