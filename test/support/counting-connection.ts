// Wraps a real connection to count what the engine asks of it, so tests can assert
// round trips (one exec per host for a no-op run) and that nothing ran at all.
import type { Connection, ExecOptions, ExecResult } from '../../src/connection/connection.ts'

export class CountingConnection implements Connection {
  readonly commands: string[] = []
  connects = 0
  constructor(
    private inner: Connection,
    private failConnect?: Error,
  ) {}
  get description(): string {
    return this.inner.description
  }
  async connect(): Promise<void> {
    this.connects++
    if (this.failConnect) throw this.failConnect
    await this.inner.connect()
  }
  exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    this.commands.push(command)
    return this.inner.exec(command, options)
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}
