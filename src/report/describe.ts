import { BerthError } from '../errors.ts'

/** One paragraph for a user error; a bug in berth keeps its stack. -v adds stacks to both. */
export function describeError(error: Error, verbosity = 0): string {
  if (error instanceof BerthError) {
    const text = error.describe()
    return verbosity > 0 && error.stack ? `${text}\n${error.stack}` : text
  }
  return error.stack ?? `${error.name}: ${error.message}`
}
