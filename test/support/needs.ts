// A test file whose tools are missing on this machine is skipped, not crashed:
// `needing('ssh-tests', test)` gives back uvu's `test` when the machine has what
// the part needs, and otherwise a stand-in that registers every test as skipped
// (so uvu's summary counts them) and prints why once. `npm test` has already
// tried to install what is missing (lab/prerequisites.ts).
import type { Test, Callback } from 'uvu'
import { NEEDS, type Need } from '../../lab/prerequisites.ts'
import { findTool } from '../../lab/errors.ts'

/** Why `need` cannot run here, or undefined when it can. */
export function skipReason(need: Need): string | undefined {
  const spec = NEEDS[need]
  if (spec.linux && process.platform !== 'linux') return `this is ${process.platform}, not Linux`
  if (spec.root && process.getuid?.() !== 0) return 'not running as root (run `sudo npm test`)'
  const missing = spec.tools.filter((t) => findTool(t.command) === undefined)
  if (missing.length === 0) return undefined
  return `${missing.map((t) => `\`${t.command}\``).join(', ')} not installed (Debian: apt-get install ${[...new Set(missing.map((t) => t.debianPackage))].join(' ')}; \`sudo npm test\` installs it)`
}

/** uvu's `test`, or one that skips every test of the file with the reason printed. */
export function needing<T>(needs: Need | readonly Need[], test: Test<T>, file = ''): Test<T> {
  const unmet = (typeof needs === 'string' ? [needs] : needs).flatMap((n) => {
    const reason = skipReason(n)
    return reason === undefined ? [] : [`${NEEDS[n].what}: ${reason}`]
  })
  if (unmet.length === 0) return test
  console.log(`\n  ${file ? `${file} ` : ''}skipped. ${unmet.join('; ')}\n`)
  const skip = (name?: string): void => test.skip(name)
  const noHook = Object.assign((_: Callback<T>) => {}, { each: (_: Callback<T>) => {} })
  return Object.assign(skip, { only: skip, skip, before: noHook, after: noHook, run: () => test.run() }) as Test<T>
}
