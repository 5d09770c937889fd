// The one executor: runs a plan's operations on a host, in order, and stops at
// the first that fails. Every command goes through host.run, so each is
// recorded (-v, --json) exactly as it ran.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { BerthError } from '../errors.ts'
import type { Host } from '../host.ts'
import type { ApplyOutput } from '../resources/resource.ts'
import type { Operation, WaitOperation } from './operation.ts'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Run `operations` on `host`; the output is the last command's (a command resource's result). */
export async function execute(host: Host, operations: readonly Operation[]): Promise<ApplyOutput> {
  let output: ApplyOutput = {}
  for (const op of operations) {
    switch (op.kind) {
      case 'run': {
        const run = host.run(op.command)
        if (op.stdin !== undefined) run.stdin(op.stdin)
        if (op.timeoutMs !== undefined) run.timeout(op.timeoutMs)
        const r = await run
        output = { stdout: r.stdout, stderr: r.stderr, code: r.code }
        break
      }
      case 'write': {
        // The operation's attributes are writeFile's options, field for field.
        const { kind: _, path, content, ...options } = op
        await host.writeFile(path, content, options)
        break
      }
      case 'upload': {
        const { kind: _, source, path, sha256, bytes: _b, ...options } = op
        const content = await readFile(source)
        const now = createHash('sha256').update(content).digest('hex')
        if (now !== sha256)
          throw new BerthError(`${source} changed on this machine after berth planned to copy it to ${host.name}:${path} (sha256 ${now}, planned ${sha256}): not copied`, {
            hint: 'run again to plan on the file as it is now',
          })
        await host.writeFile(path, content, options)
        break
      }
      case 'wait':
      {
        // A bounded wait says how long it took, in the summary and as data for the playbook's code.
        const waitedMs = await waitUntil(host, op)
        output = { ...output, summary: `${op.what} after ${(waitedMs / 1000).toFixed(1)} s`, data: { waitedMs: Math.round(waitedMs) } }
      }
        break
      case 'guard': {
        const test = await host.run(op.test).nothrow()
        if (test.code === 0) output = await execute(host, op.then)
        break
      }
    }
  }
  return output
}

/** Poll until the probe succeeds; how long it took, in ms. */
async function waitUntil(host: Host, op: WaitOperation): Promise<number> {
  if (op.delayMs) await sleep(op.delayMs)
  const started = performance.now()
  let last = ''
  for (;;) {
    const remaining = op.timeoutMs - (performance.now() - started)
    const r = await host.run(op.probe).nothrow().timeout(Math.max(remaining, 1000))
    if (r.code === 0) return performance.now() - started
    last = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ')
    if (performance.now() - started >= op.timeoutMs)
      throw new BerthError(`${host.name}: waited ${(op.timeoutMs / 1000).toFixed(1)} s, and still not: ${op.what}`, {
        hint: last ? `last output of the probe: ${host.redactor.mask(last)}` : 'the service log (journalctl -u UNIT) says why',
      })
    await sleep(Math.min(op.intervalMs, Math.max(0, op.timeoutMs - (performance.now() - started))))
  }
}
