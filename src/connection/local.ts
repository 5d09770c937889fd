import { spawn } from 'node:child_process'
import type { Connection, ExecOptions, ExecResult } from './connection.ts'
import { BerthError } from '../errors.ts'

/** `ansible_connection: local`: commands run on this machine under /bin/sh. */
export class LocalConnection implements Connection {
  readonly description = 'local'
  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    // Host refuses NUL bytes and sends long commands on stdin before they get here.
    if (command.includes('\0')) return Promise.reject(new BerthError('a command line cannot hold a NUL byte; it was not run'))
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] })
      const out: Buffer[] = []
      const err: Buffer[] = []
      let timedOut = false
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true
              child.kill('SIGKILL')
            }, options.timeoutMs)
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'E2BIG'
            ? new BerthError(`a command line of ${Buffer.byteLength(command)} bytes is longer than the kernel takes in one argument (128 KiB); it was not run`, { cause: e })
            : e,
        ),
      )
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer)
        resolve({
          code: timedOut ? null : code,
          signal: signal ?? undefined,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
        })
      })
      child.stdin.on('error', () => {}) // the command may exit without reading its input
      child.stdin.end(options.stdin ?? '')
    })
  }
}
