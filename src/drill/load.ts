// A background load a drill measures with: a shell loop started on one host,
// detached from the SSH session, that logs one line per attempt:
//
//   EPOCH_MS ok ID [DETAIL]      an acknowledged write, a pull that succeeded
//   EPOCH_MS fail ID [DETAIL]    an attempt that failed (not acknowledged)
//
// The log stays on that host until the load stops, so a controller that loses
// its connections loses nothing of it. Times are the host's clock, moved to the
// controller's by an offset measured at start (an exec's midpoint), so a fault
// time taken here and a write time taken there compare.
import { BerthError } from '../errors.ts'
import type { Host } from '../host.ts'
import { sh, type ShellCommand } from '../shell.ts'

export interface LoadSample {
  /** Controller time, epoch milliseconds. */
  atMs: number
  ok: boolean
  id: string
  detail: string
}

/** Pure: the log's lines as samples, moved to the controller's clock. Lines that are not samples (a shell's complaint) are skipped. */
export function parseLoadLog(text: string, offsetMs = 0): LoadSample[] {
  const out: LoadSample[] = []
  for (const line of text.split('\n')) {
    const m = /^(\d{13}) (ok|fail) (\S+) ?(.*)$/.exec(line.trim())
    if (m) out.push({ atMs: Number(m[1]) - offsetMs, ok: m[2] === 'ok', id: m[3] as string, detail: m[4] ?? '' })
  }
  return out
}

export interface Outage {
  /** The last success before the outage, the first failure, the first success after it (controller epoch ms). */
  lastOkBefore: number | undefined
  firstFail: number
  firstOkAfter: number | undefined
  failures: number
}

/** Pure: the first outage that starts at or after `fromMs`: its first failure, and the first success after it. */
export function outageAfter(samples: readonly LoadSample[], fromMs: number): Outage | undefined {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs)
  const i = sorted.findIndex((s) => !s.ok && s.atMs >= fromMs)
  if (i < 0) return undefined
  const before = sorted.slice(0, i).filter((s) => s.ok).at(-1)
  const after = sorted.slice(i).find((s) => s.ok)
  return {
    lastOkBefore: before?.atMs,
    firstFail: (sorted[i] as LoadSample).atMs,
    firstOkAfter: after?.atMs,
    failures: sorted.slice(i).filter((s) => !s.ok && (after === undefined || s.atMs < after.atMs)).length,
  }
}

const LOAD_DIR = '/run/berth-load'

export class BackgroundLoad {
  private constructor(
    readonly host: Host,
    readonly name: string,
    readonly pid: number,
    /** Host clock minus controller clock, ms. */
    readonly offsetMs: number,
    /** Files the load needed (a password file), removed with its log when it stops. */
    readonly files: readonly string[] = [],
  ) {}

  get log(): string {
    return `${LOAD_DIR}/${this.name}.log`
  }

  /**
   * Start `loop` on `host` in its own session (setsid), output to a log on the
   * host. `loop` runs until stopped and prints the lines described above.
   */
  static async start(host: Host, name: string, loop: ShellCommand, opts: { removeOnStop?: readonly string[] } = {}): Promise<BackgroundLoad> {
    if (!/^[a-z0-9-]+$/.test(name)) throw new BerthError(`background load name '${name}': use lower case letters, digits and -`)
    const log = `${LOAD_DIR}/${name}.log`
    const t0 = Date.now()
    for (const secret of loop.secrets) host.redactor.add(secret)
    const r = await host.$`mkdir -p ${LOAD_DIR} && : > ${log} && { setsid sh -c ${loop.text} > ${log} 2>&1 < /dev/null & echo "$! $(date +%s%3N)"; }`
    const t1 = Date.now()
    const [pid, hostNow] = r.stdout.trim().split(' ').map(Number)
    if (!pid || !hostNow) throw new BerthError(`${host.name}: background load ${name} did not start: ${r.stdout.trim()} ${r.stderr.trim()}`)
    return new BackgroundLoad(host, name, pid, hostNow - (t0 + t1) / 2, opts.removeOnStop ?? [])
  }

  /** What the load has logged so far. */
  async samples(): Promise<LoadSample[]> {
    const r = await this.host.$`cat ${this.log}`.quiet()
    return parseLoadLog(r.stdout, this.offsetMs)
  }

  /** Stop the loop (its whole process group) and return everything it logged; the log (and the load's files) are removed. */
  async stop(): Promise<LoadSample[]> {
    const r = await this.host
      // dash's kill takes no `--`: a negative pid right after the signal is the process group.
      .$`kill -TERM -${String(this.pid)} 2>/dev/null; i=0; while kill -0 ${String(this.pid)} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -${String(this.pid)} 2>/dev/null; cat ${this.log}; rm -f -- ${this.log} ${this.files}`
      .quiet()
      .nothrow()
    return parseLoadLog(r.stdout, this.offsetMs)
  }
}

/**
 * A loop for BackgroundLoad: run `attempt` (a command that may read $i, the
 * attempt's number) until stopped, logging ok or fail with its first 200
 * characters of output.
 */
export function attemptLoop(attempt: ShellCommand, pauseSeconds = 0.05): ShellCommand {
  return sh`i=0
while :; do
  i=$((i+1))
  if out=$( { ${attempt} ; } 2>&1 ); then r=ok; else r=fail; fi
  echo "$(date +%s%3N) $r $i $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)"
  sleep ${String(pauseSeconds)}
done`
}
