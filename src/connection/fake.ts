// A scripted connection for unit tests: each command is matched against a table
// of rules (first match wins) and every command is recorded, so a test can state
// "these facts in, these commands out". Not used by any role or playbook.
import type { Connection, ExecOptions, ExecResult } from './connection.ts'

export interface FakeRule {
  match: string | RegExp | ((command: string) => boolean)
  result: Partial<ExecResult> | ((command: string, stdin: string) => Partial<ExecResult>)
}

export class FakeConnection implements Connection {
  readonly description = 'fake'
  readonly commands: { command: string; stdin: string }[] = []
  connects = 0
  constructor(
    private rules: FakeRule[] = [],
    /** What an unmatched command returns; default: exit 0 with no output. */
    private fallback: Partial<ExecResult> = { code: 0 },
  ) {}

  on(match: FakeRule['match'], result: FakeRule['result']): this {
    this.rules.push({ match, result })
    return this
  }

  async connect(): Promise<void> {
    this.connects++
  }
  async close(): Promise<void> {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const stdin = options.stdin === undefined ? '' : options.stdin.toString()
    this.commands.push({ command, stdin })
    const rule = this.rules.find(({ match }) =>
      typeof match === 'string' ? command.includes(match) : match instanceof RegExp ? match.test(command) : match(command),
    )
    const r = rule ? (typeof rule.result === 'function' ? rule.result(command, stdin) : rule.result) : this.fallback
    return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', signal: r.signal, timedOut: r.timedOut }
  }
}
