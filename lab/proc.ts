// Running the machine's own tools, and reading /proc. The lab never keeps a
// list of its processes it has to trust: /proc is asked every time, so a lab
// whose tool crashed is still found and cleaned up.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { LabError } from './errors.ts'

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  input?: string | Buffer
  timeoutMs?: number
  /** Resolve on a non-zero exit instead of throwing. */
  allowFail?: boolean
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Stream the command's output to ours (long steps such as debootstrap). */
  echo?: boolean
  /** Each complete line of its output (stdout and stderr) as it comes: what a long step is doing. */
  onLine?: (line: string) => void
}

/** Calls `fn` with each complete line of a stream's chunks. */
function lineSplitter(fn: (line: string) => void): (b: Buffer) => void {
  let rest = ''
  return (b) => {
    const lines = (rest + b.toString('utf8')).split('\n')
    rest = lines.pop() ?? ''
    for (const l of lines) fn(l)
  }
}

/** Run a command to completion; throws a LabError with the stderr tail on failure. */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    if (opts.onLine) {
      child.stdout.on('data', lineSplitter(opts.onLine))
      child.stderr.on('data', lineSplitter(opts.onLine))
    }
    child.stdout.on('data', (b: Buffer) => {
      out.push(b)
      if (opts.echo) process.stdout.write(b)
    })
    child.stderr.on('data', (b: Buffer) => {
      err.push(b)
      if (opts.echo) process.stderr.write(b)
    })
    let timedOut = false
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            child.kill('SIGKILL')
          }, opts.timeoutMs)
    child.on('error', (e) => {
      if (timer) clearTimeout(timer)
      reject(new LabError(`cannot run ${command}: ${e.message}`))
    })
    child.on('close', (code) => {
      if (timer) clearTimeout(timer)
      const r = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }
      if (timedOut) r.stderr += `\n(killed after ${opts.timeoutMs} ms)`
      if (code === 0 || opts.allowFail) resolve(r)
      else reject(new LabError(`\`${[command, ...args].join(' ')}\` failed (exit ${code ?? 'signal'}): ${tail(r.stderr || r.stdout, 12)}`))
    })
    child.stdin.on('error', () => {
      // the command may exit before reading its input; its exit code tells the story
    })
    child.stdin.end(opts.input ?? '')
  })
}

/** The last lines of a text, for error messages. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export interface ProcInfo {
  pid: number
  ppid: number
  /** Arguments, NUL-split. Empty for kernel threads and zombies. */
  argv: string[]
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined // the process ended while we looked: normal
  }
}

export function listPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
}

/** A live process (not a zombie) with its arguments. */
export function procInfo(pid: number): ProcInfo | undefined {
  const entry = procEntry(pid)
  const cmdline = readText(`/proc/${pid}/cmdline`)
  if (entry === undefined || cmdline === undefined) return undefined
  if (entry.state === 'Z' || entry.state === 'X') return undefined
  return { pid, ppid: entry.ppid, argv: cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) }
}

export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = []
  for (const pid of listPids()) {
    const p = procInfo(pid)
    if (p) out.push(p)
  }
  return out
}

export function isAlive(pid: number): boolean {
  return procInfo(pid) !== undefined
}

/** The pid namespace of a process, as the inode link `pid:[4026531836]`. */
export function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`)
  } catch {
    return undefined
  }
}

/** Every process in the pid namespace of `pid` (a container's init: the whole container). */
export function processesInNamespace(ns: string): number[] {
  return listPids().filter((p) => pidNamespace(p) === ns)
}

/** Proportional set size in kB (shared pages split among their users), from smaps_rollup. */
export function pssKb(pid: number): number {
  const text = readText(`/proc/${pid}/smaps_rollup`)
  const m = text?.match(/^Pss:\s+(\d+) kB/m)
  return m ? Number(m[1]) : 0
}

/** Does any mount seen by this process mention `needle` (a path, an overlay's upperdir=)? */
export function mountsMention(pid: number, needle: string): boolean {
  const text = readText(`/proc/${pid}/mountinfo`)
  return text !== undefined && text.includes(needle)
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch {
    return false
  }
}

/**
 * A process as /proc shows it, zombies included: `comm` (the kernel's short
 * name, kept by a zombie, whose argv is gone) and its start time in clock
 * ticks since boot, which with the pid names one process across pid reuse.
 */
export interface ProcEntry {
  pid: number
  ppid: number
  /** R, S, D, Z (zombie: dead, waiting for its parent to reap it), ... */
  state: string
  comm: string
  startTicks: number
}

export function procEntry(pid: number): ProcEntry | undefined {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === undefined) return undefined
  // The command name is in parentheses and may itself contain spaces or ')'.
  const close = stat.lastIndexOf(')')
  const rest = stat.slice(close + 2).split(' ')
  return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', comm: stat.slice(stat.indexOf('(') + 1, close), startTicks: Number(rest[19]) }
}

/** Is this very process (not a later one with its pid) still in /proc, alive or as a zombie? */
export function stillListed(p: Pick<ProcEntry, 'pid' | 'startTicks'>): ProcEntry | undefined {
  const now = procEntry(p.pid)
  return now && now.startTicks === p.startTicks ? now : undefined
}

/**
 * Wait until each process is gone from /proc, not only dead: a killed process
 * stays listed as a zombie until its parent reaps it, and the parent of a
 * detached lab host is whatever adopted it (PID 1, often). Returns those still
 * listed at the deadline.
 */
export function waitReaped(procs: readonly ProcEntry[], timeoutMs: number): Promise<ProcEntry[]> {
  return pollUntilNone(() => procs.flatMap((p) => stillListed(p) ?? []), timeoutMs)
}

/** Poll `left` every 50 ms until it returns nothing or the time is up; what it returned last. */
async function pollUntilNone<T>(left: () => T[], timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const now = left()
    if (now.length === 0 || Date.now() > deadline) return now
    await sleep(50)
  }
}

/** Wait until none of `pids` is alive; false on timeout. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  return (await pollUntilNone(() => pids.filter(isAlive), timeoutMs)).length === 0
}
