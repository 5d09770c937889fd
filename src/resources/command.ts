// `command`: run a command unless a guard says it is not needed. A command
// cannot know whether it is needed, so without guards it always runs (changed).
// Guards are read in the same batch as other facts, also in check mode, so the
// `unless` and `onlyIf` commands must only read.
import { exitCodeFact, pathExistsFact } from '../facts/command.ts'
import type { Fact, FactValues } from '../facts/fact.ts'
import { Redactor } from '../secrets.ts'
import { ShellCommand } from '../shell.ts'
import { argumentError, checkAbsolutePath } from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'
import { runOp } from '../operations/operation.ts'

export interface CommandOptions {
  /** Skip when this path exists (the command creates it). */
  creates?: string
  /** Skip when this path does not exist (the command removes it). */
  removes?: string
  /** Skip when this command exits 0. */
  unless?: ShellCommand | string
  /** Run only when this command exits 0. */
  onlyIf?: ShellCommand | string
  stdin?: string | Buffer
  timeoutMs?: number
}

export interface CommandPlan extends Plan {
  command: ShellCommand
}

const toCommand = (c: ShellCommand | string): ShellCommand => (typeof c === 'string' ? new ShellCommand(c) : c)

/** The command as it may be shown: its secrets masked. */
export function showCommand(command: ShellCommand): string {
  const redactor = new Redactor()
  for (const s of command.secrets) redactor.add(s)
  return redactor.mask(command.text)
}

export interface CommandGuards {
  creates?: boolean | undefined
  removes?: boolean | undefined
  unless?: number | undefined
  onlyIf?: number | undefined
}

/** Pure: the guards' results decide; the first guard that says no is the summary. */
export function planCommand(command: ShellCommand, options: CommandOptions, guards: CommandGuards): CommandPlan {
  const skip = (summary: string): CommandPlan => ({ changed: false, summary, command })
  if (guards.creates === true) return skip(`skipped: ${options.creates} exists`)
  if (guards.removes === false) return skip(`skipped: ${options.removes} does not exist`)
  if (guards.unless === 0) return skip('skipped: the unless command succeeded')
  if (guards.onlyIf !== undefined && guards.onlyIf !== 0) return skip(`skipped: the onlyIf command failed (exit ${guards.onlyIf})`)
  return { changed: true, summary: `run: ${showCommand(command)}`, command, operations: [runOp(command, { stdin: options.stdin, timeoutMs: options.timeoutMs })] }
}

export function command(cmd: ShellCommand | string, options: CommandOptions = {}): Task {
  const resource = 'command'
  if (!(cmd instanceof ShellCommand) && typeof cmd !== 'string') throw argumentError(resource, 'cmd', 'must be a string or a sh`…` command')
  const shellCommand = toCommand(cmd)
  if (shellCommand.text.trim() === '') throw argumentError(resource, 'cmd', 'must not be empty')
  if (options.timeoutMs !== undefined && (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0))
    throw argumentError(resource, 'timeoutMs', 'must be a positive number of milliseconds')
  const creates = options.creates === undefined ? undefined : pathExistsFact(checkAbsolutePath(resource, 'creates', options.creates))
  const removes = options.removes === undefined ? undefined : pathExistsFact(checkAbsolutePath(resource, 'removes', options.removes))
  const unless = options.unless === undefined ? undefined : exitCodeFact(options.unless)
  const onlyIf = options.onlyIf === undefined ? undefined : exitCodeFact(options.onlyIf)
  const shown = showCommand(shellCommand).split('\n')[0] ?? ''
  const get = <T>(facts: FactValues, f: Fact<T> | undefined): T | undefined => (f ? facts.get(f) : undefined)

  const res: Resource<CommandPlan> = {
    title: `command ${shown.length > 60 ? shown.slice(0, 57) + '…' : shown}`,
    facts: () => [creates, removes, unless, onlyIf].filter((f): f is Fact<boolean> | Fact<number> => f !== undefined),
    plan: (facts: FactValues) =>
      planCommand(shellCommand, options, {
        creates: get(facts, creates),
        removes: get(facts, removes),
        unless: get(facts, unless),
        onlyIf: get(facts, onlyIf),
      }),
  }
  return task(res)
}
