// A playbook run on the lab as an operator runs it: a child process with
// --json and the lab inventory (which names its own lab-only vault password
// file), every event parsed; and the readings the lab tests (and the seed-001
// bench) take of it.
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_INVENTORY } from '../../lab/lab.ts'
import * as assert from 'uvu/assert'
import type { BerthEvent } from '../../src/report/events.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface LabRun {
  code: number
  events: BerthEvent[]
  stdout: string
  stderr: string
  /** Wall time of the whole process. */
  seconds: number
}

export function runLabPlaybook(playbook: string, ...args: string[]): Promise<LabRun> {
  return runPlaybookOn(DEFAULT_INVENTORY, playbook, ...args)
}

/** The same with another inventory (a copy of the lab's with a host variable changed, say). */
export function runPlaybookOn(inventory: string, playbook: string, ...args: string[]): Promise<LabRun> {
  const started = performance.now()
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', playbook, '-i', inventory, '--json', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', fail)
    child.on('close', (code) => {
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as BerthEvent)
      done({ code: code ?? -1, events, stdout: out, stderr: err, seconds: (performance.now() - started) / 1000 })
    })
  })
}

/** The tasks that changed, on one host or on any. */
export const changedTasks = (r: LabRun, host?: string): string[] =>
  r.events.flatMap((e) => (e.kind === 'host_result' && (host === undefined || e.host === host) && e.status === 'changed' ? [e.task] : []))
export const failures = (r: LabRun): string[] => r.events.flatMap((e) => (e.kind === 'host_result' && e.status === 'failed' ? [`${e.host}: ${e.task}: ${e.error ?? ''}`] : []))
/** The run-stopping error's message (exit 1), or what was seen instead. */
export const errorOf = (r: LabRun): string => {
  const e = r.events.find((x) => x.kind === 'error')
  return e && e.kind === 'error' ? e.message : `(no error event; ${describeRun(r)})`
}
/** For an assertion's message: the exit code, the failed tasks and the end of stderr. */
export const describeRun = (r: LabRun): string => `exit ${r.code}; failures: ${failures(r).join(' | ') || 'none'}; stderr: ${r.stderr.slice(-1500)}`

/** A converged stack: the next run changes nothing and `--check --detect-drift` exits 0. Both runs are returned for more checks (secrets in their output). */
export async function assertConverged(runPlaybook: (...args: string[]) => Promise<LabRun>): Promise<{ again: LabRun; check: LabRun }> {
  const again = await runPlaybook()
  assert.is(again.code, 0, describeRun(again))
  assert.equal(changedTasks(again), [])
  const check = await runPlaybook('--check', '--detect-drift')
  assert.is(check.code, 0, describeRun(check))
  return { again, check }
}
