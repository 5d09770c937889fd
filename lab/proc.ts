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

export function procInfo(pid: number): ProcInfo | undefined {
  const stat = readText(`/proc/${pid}/stat`)
  const cmdline = readText(`/proc/${pid}/cmdline`)
  if (stat === undefined || cmdline === undefined) return undefined
  // The command name is in parentheses and may itself contain spaces or ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const state = rest[0]
  if (state === 'Z' || state === 'X') return undefined
  return { pid, ppid: Number(rest[1]), argv: cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) }
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

/** Wait until none of `pids` is alive; false on timeout. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (pids.every((p) => !isAlive(p))) return true
    if (Date.now() > deadline) return false
    await sleep(50)
  }
}
