// What a long lab step is doing, and for how long: the image build, `lab up`,
// the demo. On a terminal one line is redrawn in place (zx's spinner look: a
// braille frame every 100 ms, on stderr), with the step, its latest detail and
// the elapsed seconds; a finished step leaves one line with its time. Anywhere
// else (a pipe, a log file, CI) the same steps are plain lines: one when a
// step starts, one when it ends, and for a step that keeps updating, its
// detail every `plainEveryMs` so a log shows it is alive.
//
// No ambient state: whoever wants progress makes a Progress on a stream and
// passes it down; lab code that is given none prints plain lines to its log.

/** Where progress goes: a stream (process.stderr) or anything with write(). */
export interface ProgressOutput {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ProgressTimer {
  every(fn: () => void, ms: number): { stop(): void }
}

export interface ProgressOptions {
  /** Draw an updating line. Default: the output is a TTY and CI is not set (zx's spinner is off under CI too). */
  tty?: boolean
  env?: NodeJS.ProcessEnv
  /** Milliseconds, monotonic. */
  now?: () => number
  timer?: ProgressTimer
  /** Plain mode: repeat a step's changed detail at most this often (ms). */
  plainEveryMs?: number
}

export interface StepOptions {
  /**
   * false: no spinner and no redraw, only the start and end lines, on a TTY
   * too. For a step whose own output is shown meanwhile (a playbook run).
   */
  spinner?: boolean
}

export interface Step {
  readonly title: string
  /** What the step is at now ("2/3 answer SSH"). */
  update(detail: string): void
  /** Finished; `result` replaces the detail on the last line. Returns the elapsed seconds. */
  done(result?: string): number
  failed(reason?: string): number
}

const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'
const CLEAR_LINE = '\r\x1b[K'

/** Elapsed time as shown while a step runs: whole seconds. */
export const runningSeconds = (ms: number): string => `${Math.floor(ms / 1000)} s`
/** Elapsed time on a finished step's line: tenths. */
export const finalSeconds = (ms: number): string => `${(Math.round(ms / 100) / 10).toFixed(1)} s`

const defaultTimer: ProgressTimer = {
  every(fn, ms) {
    const id = setInterval(fn, ms)
    id.unref() // a step left open must not keep the process alive
    return { stop: () => clearInterval(id) }
  },
}

interface Active {
  title: string
  detail: string
  started: number
  spinner: boolean
  lastPlain: number
  plainDetail: string
}

export class Progress {
  readonly tty: boolean
  readonly #out: ProgressOutput
  readonly #now: () => number
  readonly #timer: ProgressTimer
  readonly #plainEveryMs: number
  /** Open steps, newest last; a TTY draws the newest spinning one. */
  readonly #open: Active[] = []
  #ticker: { stop(): void } | undefined
  #frame = 0
  /** A spinner line is on screen (the cursor sits at its end). */
  #drawn = false

  constructor(out: ProgressOutput, opts: ProgressOptions = {}) {
    this.#out = out
    const env = opts.env ?? process.env
    this.tty = opts.tty ?? (out.isTTY === true && !env.CI)
    this.#now = opts.now ?? (() => performance.now())
    this.#timer = opts.timer ?? defaultTimer
    this.#plainEveryMs = opts.plainEveryMs ?? 10_000
  }

  /** Plain lines through a line logger (what lab code uses when it is given no Progress). */
  static lines(log: (line: string) => void, opts: Omit<ProgressOptions, 'tty'> = {}): Progress {
    return new Progress({ write: (text: string) => text.replace(/\n$/, '').split('\n').forEach((l) => log(l)) }, { ...opts, tty: false })
  }

  /** Begin a step; end it with done() or failed(). */
  step(title: string, opts: StepOptions = {}): Step {
    const a: Active = { title, detail: '', started: this.#now(), spinner: opts.spinner !== false && this.tty, lastPlain: this.#now(), plainDetail: '' }
    this.#open.push(a)
    if (a.spinner) {
      this.#draw()
      this.#ticker ??= this.#timer.every(() => {
        this.#frame++
        this.#draw()
      }, 100)
    } else this.#print(`  ▸ ${title}`)
    let ended = false
    const end = (mark: string, text: string | undefined): number => {
      const ms = this.#now() - a.started
      if (ended) return ms / 1000
      ended = true
      this.#open.splice(this.#open.indexOf(a), 1)
      if (!this.#open.some((o) => o.spinner)) {
        this.#ticker?.stop()
        this.#ticker = undefined
      }
      const said = text ?? a.detail
      this.#print(`  ${mark} ${title}${said ? `: ${said}` : ''} (${finalSeconds(ms)})`)
      return ms / 1000
    }
    return {
      title,
      update: (detail: string) => {
        if (ended || detail === a.detail) return
        a.detail = detail
        if (a.spinner) this.#draw()
        else if (!this.tty) {
          const now = this.#now()
          if (now - a.lastPlain >= this.#plainEveryMs && detail !== a.plainDetail) {
            a.lastPlain = now
            a.plainDetail = detail
            this.#print(`  · ${title}: ${detail} (${runningSeconds(now - a.started)})`)
          }
        }
      },
      done: (result?: string) => end('✔', result),
      failed: (reason?: string) => end('✖', reason ?? 'failed'),
    }
  }

  /** Run `fn` as one step: done with `result(value)` when it resolves, failed when it throws. */
  async task<T>(title: string, fn: (step: Step) => Promise<T>, result?: (value: T) => string | undefined): Promise<T> {
    const s = this.step(title)
    try {
      const v = await fn(s)
      s.done(result?.(v))
      return v
    } catch (e) {
      s.failed()
      throw e
    }
  }

  /** A line of its own (a log message) that must not be drawn over: the spinner moves below it. */
  line(text: string): void {
    this.#print(text)
  }

  #print(text: string): void {
    if (this.#drawn) {
      this.#out.write(CLEAR_LINE)
      this.#drawn = false
    }
    this.#out.write(text + '\n')
    this.#draw()
  }

  #draw(): void {
    const a = this.#open.findLast((o) => o.spinner)
    if (!a) return
    const frame = FRAMES[this.#frame % FRAMES.length] ?? ''
    let head = `  ${frame} ${a.title}${a.detail ? `: ${a.detail}` : ''}`
    const time = ` (${runningSeconds(this.#now() - a.started)})`
    // Never wrap (a wrapped line cannot be redrawn with \r); cut the text, keep the time.
    const width = (this.#out.columns ?? 80) - 1
    if (head.length + time.length > width) head = head.slice(0, Math.max(4, width - time.length - 1)) + '…'
    this.#out.write(CLEAR_LINE + head + time)
    this.#drawn = true
  }
}
