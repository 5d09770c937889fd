// Guards for commands: the exit code of a user's test command (`unless`,
// `onlyIf`) and whether a path exists (`creates`, `removes`). A guard runs in
// check mode too, so it must only read.
import { createHash } from 'node:crypto'
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { ShellCommand, sh } from '../shell.ts'

export function parseExitCode(output: ProbeOutput): number {
  if (output.code === null) throw new Error(output.stderr.trim() || 'the probe did not finish')
  return output.code
}

/** The exit code of a command whose output is discarded. */
export function exitCodeFact(command: ShellCommand | string): Fact<number> {
  const cmd = typeof command === 'string' ? new ShellCommand(command) : command
  // The key is hashed: a command can carry secrets, and keys appear in error messages.
  const key = `exit-code:${createHash('sha256').update(cmd.text).digest('hex').slice(0, 32)}`
  return fact(key, new ShellCommand(`{ ${cmd.text}\n} >/dev/null 2>&1`, cmd.secrets), parseExitCode)
}

export function parsePathExists(output: ProbeOutput): boolean {
  if (output.code === 0) return true
  if (output.code === 1) return false
  throw new Error(output.stderr.trim() || `test exited with code ${output.code}`)
}

/** Whether the path exists (a dangling link counts: something is there). */
export function pathExistsFact(path: string): Fact<boolean> {
  return fact(`path-exists:${path}`, sh`[ -e ${path} ] || [ -L ${path} ]`, parsePathExists)
}
