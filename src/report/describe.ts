import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BerthError, stackFrames } from '../errors.ts'

/** berth's own engine code (src/): an unexpected error thrown from here is a bug in berth. */
const ENGINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..') + '/'

/** Where an error was thrown: the first stack frame in a file of ours or the user's (not node's, not a library's). */
export function thrownFrom(error: Error): { file: string; line: number } | undefined {
  return stackFrames(error.stack ?? '')[0]
}

/** An unexpected error from berth's engine (exit 250), not from a playbook's or role's own code (exit 1). */
export function isEngineBug(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof BerthError) return false
  const at = thrownFrom(error)
  return at !== undefined && at.file.startsWith(ENGINE_DIR)
}

/**
 * One paragraph for a user error; a bug in berth keeps its stack. An error
 * thrown by the playbook's own code names its file:line (its stack with -vv).
 * -v adds stacks to berth's errors.
 */
export function describeError(error: Error, verbosity = 0): string {
  if (error instanceof BerthError) {
    const text = error.describe()
    return verbosity > 0 && error.stack ? `${text}\n${error.stack}` : text
  }
  if (isEngineBug(error)) return error.stack ?? `${error.name}: ${error.message}`
  const at = thrownFrom(error)
  const head = `${at ? `${at.file}:${at.line}: ` : ''}${error.name}: ${error.message}`
  return verbosity > 1 && error.stack ? `${head}\n${error.stack}` : `${head}\n  (thrown by the playbook's own code; -vv shows the stack)`
}
