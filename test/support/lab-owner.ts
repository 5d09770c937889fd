// What a test file that owns a lab does around its tests: set up under a
// message that says why it failed (uvu reports a failing hook only as tests
// not run), and tear down even after failures: connections closed, the lab
// down, its lock released.
import type { Lab } from '../../lab/lab.ts'
import { skipReason } from './needs.ts'

/** Why lab tests cannot run here, or undefined: the lab needs root on Linux and its tools. */
export const labSkipReason: string | undefined = skipReason('lab')

/**
 * Where the lab cannot run: every named test registered as skipped, with the
 * reason printed once. True when they were, for `if (!skippedWithoutLab(…))`.
 */
export function skippedWithoutLab(what: string, names: readonly string[], skip: (name: string) => void): boolean {
  if (!labSkipReason) return false
  console.log(`\n  ${what} lab tests skipped: ${labSkipReason}. The lab needs root on Linux.\n`)
  for (const name of names) skip(name)
  return true
}

export async function setUpReported(body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (e) {
    console.error(`\n    test setup failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    throw e
  }
}

export async function tearDownLab(lab: Lab | undefined, connections: readonly { close(): Promise<void> }[], andThen: () => void = () => {}): Promise<void> {
  await Promise.allSettled(connections.map((c) => c.close()))
  try {
    if (lab) await lab.down()
  } finally {
    await lab?.release()
    andThen()
  }
}
