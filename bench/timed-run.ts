// One timed run of a tool, as an operator starts it: a child process, its own
// process group (killed whole at the time bound), its PLAY RECAP read back and
// checked, so a run that failed or did other work than expected stops the bench.
import { spawn } from 'node:child_process'

export interface RecapLine {
  ok: number
  changed: number
  unreachable: number
  failed: number
}

export interface RunResult {
  seconds: number
  /** The run hit the time bound and was killed. */
  timedOut: boolean
  code: number | null
  output: string
  recap: Map<string, RecapLine>
}

/** PLAY RECAP lines of berth and of ansible-playbook: `host : ok=N changed=N unreachable=N failed=N …`. */
export function parseRecap(output: string): Map<string, RecapLine> {
  const recap = new Map<string, RecapLine>()
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
  const at = plain.lastIndexOf('PLAY RECAP')
  if (at < 0) return recap
  for (const m of plain.slice(at).matchAll(/^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm))
    recap.set(m[1] as string, { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) })
  return recap
}

export function timedRun(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd: string; limitSeconds: number }): Promise<RunResult> {
  const started = performance.now()
  return new Promise((done, fail) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
    }, opts.limitSeconds * 1000)
    child.on('error', (e) => {
      clearTimeout(timer)
      fail(e)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ seconds: (performance.now() - started) / 1000, timedOut, code, output, recap: parseRecap(output) })
    })
  })
}

/** 'changes': every host changes (fresh targets); 'no-change': none does; 'converge': whatever is missing. */
export type Expect = 'changes' | 'no-change' | 'converge'

/** Throw, with the run's output tail, unless every host ran cleanly and changed as expected. */
export function checkRun(what: string, r: RunResult, hosts: readonly string[], expect: Expect): void {
  const tail = (): string => r.output.split('\n').slice(-40).join('\n')
  if (r.timedOut) return
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${tail()}`)
  for (const h of hosts) {
    const line = r.recap.get(h)
    if (!line) throw new Error(`${what}: no PLAY RECAP line for ${h}\n${tail()}`)
    if (line.failed || line.unreachable) throw new Error(`${what}: ${h} failed=${line.failed} unreachable=${line.unreachable}\n${tail()}`)
    if (expect === 'no-change' && line.changed !== 0) throw new Error(`${what}: ${h} changed=${line.changed} on a run that should change nothing\n${tail()}`)
    if (expect === 'changes' && line.changed === 0) throw new Error(`${what}: ${h} changed nothing on a first run (targets not fresh?)\n${tail()}`)
  }
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
