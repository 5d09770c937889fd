// Run many facts in one exec: each probe's stdout, stderr and exit code are framed
// by a random marker so hostile file content cannot forge a frame. However many
// probes there are, the batch is one exec: a batch too long for a command-line
// argument travels on the command's standard input (Host.execRaw, scriptOnStdin),
// which each probe leaves alone (</dev/null) anyway.
import { randomBytes } from 'node:crypto'
import type { Host } from '../host.ts'
import { ShellCommand } from '../shell.ts'
import { FactMap, type Fact, type ProbeOutput } from './fact.ts'
import { BerthError, tail } from '../errors.ts'

export function batchScript(facts: readonly Fact<unknown>[], marker: string): ShellCommand {
  const begin = (i: number): string => `printf '\\n${marker} ${i} begin\\n'; printf '\\n${marker} ${i} begin\\n' >&2`
  // Each probe in a subshell (its `exit` or `cd` stays its own), but those made of builtins only.
  const inPlace = (f: Fact<unknown>, i: number): string =>
    `${begin(i)}; ${f.inline ? '{' : '('} ${f.command.text}\n${f.inline ? '}' : ')'} </dev/null; printf '\\n${marker} ${i} end %s\\n' "$?"`
  const slow = facts.flatMap((f, i) => (f.slow ? [i] : []))
  if (slow.length < 2) return new ShellCommand(facts.map(inPlace).join('\n'), facts.flatMap((f) => f.command.secrets))
  // Slow probes start first, each in the background with its output in a file of a private
  // directory; the quick ones run meanwhile; then the slow ones' frames, in any order (the
  // frames carry their index). Without a temporary directory they run in place, as the rest.
  const dir = '"$berth_probes"'
  const lines = [
    `berth_probes=$(mktemp -d 2>/dev/null) || berth_probes=`,
    `if [ -n "$berth_probes" ]; then trap 'rm -rf "$berth_probes"' EXIT`,
    ...slow.map((i) => `{ ( ${(facts[i] as Fact<unknown>).command.text}\n) </dev/null >${dir}/${i}.out 2>${dir}/${i}.err; echo "$?" >${dir}/${i}.rc; } &`),
    'fi',
    ...facts.flatMap((f, i) => (f.slow ? [] : [inPlace(f, i)])),
    'if [ -n "$berth_probes" ]; then wait',
    ...slow.map((i) => `${begin(i)}; cat ${dir}/${i}.out; cat ${dir}/${i}.err >&2; printf '\\n${marker} ${i} end %s\\n' "$(cat ${dir}/${i}.rc 2>/dev/null || echo 255)"`),
    'else',
    ...slow.map((i) => inPlace(facts[i] as Fact<unknown>, i)),
    'fi',
  ]
  return new ShellCommand(lines.join('\n'), facts.flatMap((f) => f.command.secrets))
}

/** How the batch's exec ended, for the message of a probe whose output was cut short. */
export interface BatchStatus {
  code: number | null
  signal?: string | undefined
  /** The batch's whole stderr, for its last lines. */
  stderr?: string
}

/** 'exited with code 1', 'was killed by SIGKILL', … */
function describeStatus(s: BatchStatus): string {
  if (s.signal) return `was killed by ${s.signal}`
  if (s.code === null) return 'ended without an exit status (killed, timed out, or its channel closed)'
  return `exited with code ${s.code}`
}

/** Split a batch's output back into one ProbeOutput per fact. */
export function splitBatch(count: number, marker: string, stdout: string, stderr: string, batch?: BatchStatus): ProbeOutput[] {
  const outputs: ProbeOutput[] = []
  let finished = 0
  for (let i = 0; i < count; i++) {
    const begin = `\n${marker} ${i} begin\n`
    const endRe = new RegExp(`\\n${marker} ${i} end (\\d+)\\n`)
    const b = stdout.indexOf(begin)
    const rest = b < 0 ? '' : stdout.slice(b + begin.length)
    const e = endRe.exec(rest)
    const eb = stderr.indexOf(begin)
    let err = eb < 0 ? '' : stderr.slice(eb + begin.length)
    // Up to the next probe's frame, whichever it is (slow probes' frames come last, in their own order).
    const next = new RegExp(`\\n${marker} \\d+ begin\\n`).exec(err)
    if (next) err = err.slice(0, next.index)
    if (b < 0 || !e) outputs.push({ code: null, stdout: rest, stderr: err, cutShort: true })
    else {
      finished++
      outputs.push({ code: Number(e[1]), stdout: rest.slice(0, e.index), stderr: err })
    }
  }
  // A cut-short probe says so, with how the batch ended and the last lines it wrote to stderr.
  const frames = new RegExp(`\\n?${marker} \\d+ begin\\n`, 'g')
  const batchTail = tail((batch?.stderr ?? stderr).replace(frames, '\n'), 5).trim()
  for (const o of outputs)
    if (o.cutShort)
      o.stderr = [
        `probe output was cut short: the batch of ${count} probe${count === 1 ? '' : 's'} (one exec) ${batch ? describeStatus(batch) : 'ended early'} after ${finished} of them finished`,
        batchTail ? `; its stderr ends: ${batchTail.replace(/\n/g, ' | ')}` : '; it wrote nothing to stderr',
      ].join('')
  return outputs
}

export class FactError extends BerthError {}

/** Gather facts on a host in one round trip; duplicates (same key) run once. */
export async function gather(host: Host, facts: readonly Fact<unknown>[], into = new FactMap()): Promise<FactMap> {
  const unique = [...new Map(facts.filter((f) => !into.has(f)).map((f) => [f.key, f])).values()]
  if (unique.length === 0) return into
  const marker = `@@berth-${randomBytes(6).toString('hex')}`
  const r = await host.run(batchScript(unique, marker)).nothrow().quiet()
  const outputs = splitBatch(unique.length, marker, r.stdout, r.stderr, r)
  unique.forEach((f, i) => {
    const out = outputs[i] as ProbeOutput
    if (out.cutShort)
      throw new FactError(`${host.name}: could not read fact ${f.key}: ${host.redactor.mask(out.stderr)}`, {
        hint:
          `probe: ${host.redactor.mask(f.command.text)}\n  ` +
          'the probes of the tasks ahead run as one command; one that ends early was killed on the host (memory, limits) or lost its connection: run the play again, and check the host if it happens again',
      })
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
