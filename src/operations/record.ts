// Operations as plain JSON (the `operations` of a host_result event): what
// --json prints and what the runbook is written from. Content travels as text
// when it is UTF-8 without NUL bytes, as base64 otherwise; a sensitive file's
// content not at all.
import type { Operation } from './operation.ts'

export type OperationRecord =
  | { kind: 'run'; command: string; stdin?: string; stdinBase64?: string; stdinSensitive?: boolean; timeoutMs?: number }
  | {
      kind: 'write'
      path: string
      mode?: string
      owner?: string
      group?: string
      validate?: string
      backup?: boolean
      makeParents?: boolean
      sensitive?: boolean
      content?: string
      contentBase64?: string
      bytes: number
    }
  | { kind: 'wait'; probe: string; what: string; intervalMs: number; timeoutMs: number; delayMs?: number }
  | { kind: 'guard'; test: string; why: string; then: OperationRecord[] }

/** Text when the bytes are UTF-8 without NUL, so a record shows what a person would read. */
function asText(data: Buffer): string | undefined {
  if (data.includes(0)) return undefined
  const text = data.toString('utf8')
  return Buffer.from(text, 'utf8').equals(data) ? text : undefined
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

export function recordOf(op: Operation): OperationRecord {
  switch (op.kind) {
    case 'run': {
      const shown = op.sensitive ? undefined : op.stdin
      const text = shown === undefined ? undefined : asText(shown)
      return defined({
        kind: 'run' as const,
        command: op.command.text,
        stdin: text,
        stdinBase64: shown !== undefined && text === undefined ? shown.toString('base64') : undefined,
        stdinSensitive: op.sensitive && op.stdin !== undefined ? true : undefined,
        timeoutMs: op.timeoutMs,
      })
    }
    case 'write': {
      const text = op.sensitive ? undefined : asText(op.content)
      return defined({
        kind: 'write' as const,
        path: op.path,
        mode: op.mode,
        owner: op.owner,
        group: op.group,
        validate: op.validate,
        backup: op.backup || undefined,
        makeParents: op.makeParents || undefined,
        sensitive: op.sensitive || undefined,
        content: text,
        contentBase64: !op.sensitive && text === undefined ? op.content.toString('base64') : undefined,
        bytes: op.content.length,
      })
    }
    case 'wait':
      return defined({ kind: 'wait' as const, probe: op.probe.text, what: op.what, intervalMs: op.intervalMs, timeoutMs: op.timeoutMs, delayMs: op.delayMs })
    case 'guard':
      return { kind: 'guard', test: op.test.text, why: op.why, then: op.then.map(recordOf) }
  }
}
