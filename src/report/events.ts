// The event union every formatter consumes. One event per line in `--json`.
// Every string in an event is masked before it reaches a formatter.
import type { OperationRecord } from '../operations/record.ts'

export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable'

export interface PlaybookStartEvent {
  kind: 'playbook_start'
  playbook: string
  check: boolean
  diff: boolean
  time: string
}
export interface PlayStartEvent {
  kind: 'play_start'
  play: string
  pattern: string
  hosts: string[]
}
export interface TaskStartEvent {
  kind: 'task_start'
  play: string
  task: string
  handler: boolean
}
export interface HostResultEvent {
  kind: 'host_result'
  play: string
  task: string
  host: string
  status: Status
  /** What changed or would change, one line. */
  summary?: string | undefined
  /** A unified diff, when content changed and --diff is on. */
  diff?: string | undefined
  /** Why it failed or was unreachable, one paragraph. */
  error?: string | undefined
  durationMs: number
  /** Retries used before this result. */
  attempts?: number | undefined
  /** The operations the task ran (in --check: would run), in order. */
  operations?: OperationRecord[] | undefined
  /** --check: the task will change, but its state could not be seen before earlier changes are made. */
  unseen?: true | undefined
}
export interface CommandEvent {
  kind: 'command'
  host: string
  command: string
  code: number | null
  durationMs: number
  stdout: string
  stderr: string
}
export interface FileWriteEvent {
  kind: 'file_write'
  host: string
  path: string
  mode?: string | undefined
  owner?: string | undefined
  group?: string | undefined
  content: string
}
/** A line the playbook itself prints (pb.log). */
export interface MessageEvent {
  kind: 'message'
  message: string
}
export interface WarningEvent {
  kind: 'warning'
  message: string
  host?: string | undefined
}
export interface HostCounts {
  ok: number
  changed: number
  failed: number
  skipped: number
  unreachable: number
  /** Failures of tasks marked ignoreErrors(). */
  ignored: number
  /** --check: changed tasks whose state could not be seen yet (counted in changed too). */
  unseen: number
}
export interface RecapEvent {
  kind: 'recap'
  hosts: Record<string, HostCounts>
  durationMs: number
  /** Per-task wall time, slowest first, when --timings. */
  timings?: { play: string; task: string; durationMs: number }[] | undefined
}
export interface ErrorEvent {
  kind: 'error'
  message: string
}

/** When the event happened (ISO 8601, milliseconds): every event of a run carries it, so a drill's timeline is read off the events. */
export interface Stamped {
  at?: string | undefined
}

export type BerthEvent = (
  | PlaybookStartEvent
  | PlayStartEvent
  | TaskStartEvent
  | HostResultEvent
  | CommandEvent
  | FileWriteEvent
  | WarningEvent
  | MessageEvent
  | RecapEvent
  | ErrorEvent
) &
  Stamped
