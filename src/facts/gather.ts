// Run many facts in one exec: each probe's stdout, stderr and exit code are framed
// by a random marker so hostile file content cannot forge a frame.
import { randomBytes } from 'node:crypto'
import type { Host } from '../host.ts'
import { ShellCommand } from '../shell.ts'
import { FactMap, type Fact, type ProbeOutput } from './fact.ts'
import { BerthError } from '../errors.ts'

export function batchScript(facts: readonly Fact<unknown>[], marker: string): ShellCommand {
  const parts = facts.map(
    (f, i) =>
      `printf '\\n${marker} ${i} begin\\n'; printf '\\n${marker} ${i} begin\\n' >&2; ( ${f.command.text}\n) </dev/null; printf '\\n${marker} ${i} end %s\\n' "$?"`,
  )
  return new ShellCommand(parts.join('\n'), facts.flatMap((f) => f.command.secrets))
}

/** Split a batch's output back into one ProbeOutput per fact. */
export function splitBatch(count: number, marker: string, stdout: string, stderr: string): ProbeOutput[] {
  const outputs: ProbeOutput[] = []
  for (let i = 0; i < count; i++) {
    const begin = `\n${marker} ${i} begin\n`
    const endRe = new RegExp(`\\n${marker} ${i} end (\\d+)\\n`)
    const b = stdout.indexOf(begin)
    const rest = b < 0 ? '' : stdout.slice(b + begin.length)
    const e = endRe.exec(rest)
    const eb = stderr.indexOf(begin)
    let err = eb < 0 ? '' : stderr.slice(eb + begin.length)
    const next = err.indexOf(`\n${marker} ${i + 1} begin\n`)
    if (next >= 0) err = err.slice(0, next)
    if (b < 0 || !e) outputs.push({ code: null, stdout: rest, stderr: err || 'probe output was cut short' })
    else outputs.push({ code: Number(e[1]), stdout: rest.slice(0, e.index), stderr: err })
  }
  return outputs
}

export class FactError extends BerthError {}

/** Gather facts on a host in one round trip; duplicates (same key) run once. */
export async function gather(host: Host, facts: readonly Fact<unknown>[], into = new FactMap()): Promise<FactMap> {
  const unique = [...new Map(facts.filter((f) => !into.has(f)).map((f) => [f.key, f])).values()]
  if (unique.length === 0) return into
  const marker = `@@berth-${randomBytes(6).toString('hex')}`
  const r = await host.run(batchScript(unique, marker)).nothrow().quiet()
  const outputs = splitBatch(unique.length, marker, r.stdout, r.stderr)
  unique.forEach((f, i) => {
    const out = outputs[i] as ProbeOutput
    try {
      into.set(f, f.parse(out))
    } catch (e) {
      throw new FactError(`${host.name}: could not read fact ${f.key}: ${(e as Error).message}`, {
        hint: `probe: ${host.redactor.mask(f.command.text)}\n  exit ${out.code}, stderr: ${host.redactor.mask(out.stderr.trim()) || '(empty)'}`,
      })
    }
  })
  return into
}
