// Operations as plain JSON (the `operations` of a host_result event): what
// --json prints and what the runbook is written from. Content travels as text
// when it is UTF-8 without NUL bytes, as base64 otherwise. A sensitive
// operation's content is in the record the runbook reads (which writes it only
// as references to named secrets) and is taken out of every other output by
// `withoutSensitiveContent`.
import type { Operation } from './operation.ts'

export type OperationRecord =
  | { kind: 'run'; command: string; stdin?: string; stdinBase64?: string; stdinSensitive?: boolean; stdinBytes?: number; timeoutMs?: number }
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
      replaces?: string
      content?: string
      contentBase64?: string
      bytes: number
    }
  | { kind: 'upload'; source: string; path: string; sha256: string; bytes: number; mode?: string; owner?: string; group?: string; replaces?: string }
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
      const text = op.stdin === undefined ? undefined : asText(op.stdin)
      return defined({
        kind: 'run' as const,
        command: op.command.text,
        stdin: text,
        stdinBase64: op.stdin !== undefined && text === undefined ? op.stdin.toString('base64') : undefined,
        stdinSensitive: op.sensitive && op.stdin !== undefined ? true : undefined,
        stdinBytes: op.stdin?.length,
        timeoutMs: op.timeoutMs,
      })
    }
    case 'write': {
      const text = asText(op.content)
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
        replaces: op.replaces,
        content: text,
        contentBase64: text === undefined ? op.content.toString('base64') : undefined,
        bytes: op.content.length,
      })
    }
    case 'upload':
      return defined({ kind: 'upload' as const, source: op.source, path: op.path, sha256: op.sha256, bytes: op.bytes, mode: op.mode, owner: op.owner, group: op.group, replaces: op.replaces })
    case 'wait':
      return defined({ kind: 'wait' as const, probe: op.probe.text, what: op.what, intervalMs: op.intervalMs, timeoutMs: op.timeoutMs, delayMs: op.delayMs })
    case 'guard':
      return { kind: 'guard', test: op.test.text, why: op.why, then: op.then.map(recordOf) }
  }
}

/** The records as every output but the runbook sees them: a sensitive operation's content left out. */
export function withoutSensitiveContent(records: readonly OperationRecord[]): OperationRecord[] {
  return records.map((r) => {
    switch (r.kind) {
      case 'run': {
        if (!r.stdinSensitive) return r
        const { stdin: _t, stdinBase64: _b, ...rest } = r
        return rest
      }
      case 'write': {
        if (!r.sensitive) return r
        const { content: _t, contentBase64: _b, ...rest } = r
        return rest
      }
      case 'guard':
        return { ...r, then: withoutSensitiveContent(r.then) }
      default:
        return r
    }
  })
}
