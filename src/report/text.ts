// Ansible-like text: PLAY / TASK banners, one line per host result, PLAY RECAP.
// Colour (chalk) only on a TTY; plain text otherwise, so logs and pipes stay clean.
// chalk is loaded only when colour is on (see colorStyles): a piped run never loads it.
import type { BerthEvent, HostResultEvent, RecapEvent } from './events.ts'
import type { Reporter } from './reporter.ts'

const WIDTH = 80

export interface TextOptions {
  color: boolean
  verbosity: number
  timings: boolean
}

/** The colours the reporter uses; a chalk instance is one. */
export interface Styles {
  dim(text: string): string
  green(text: string): string
  yellow(text: string): string
  red(text: string): string
  cyan(text: string): string
  magenta(text: string): string
}

const same = (text: string): string => text
export const PLAIN: Styles = { dim: same, green: same, yellow: same, red: same, cyan: same, magenta: same }

/** chalk's colours (basic 16), loaded on demand. */
export async function colorStyles(): Promise<Styles> {
  const { Chalk } = await import('chalk')
  return new Chalk({ level: 1 })
}

export class TextReporter implements Reporter {
  readonly #c: Styles
  constructor(
    private opts: TextOptions,
    private write: (text: string) => void = (t) => process.stdout.write(t),
    styles?: Styles,
  ) {
    this.#c = opts.color && styles ? styles : PLAIN
  }

  #banner(title: string): string {
    return `\n${title} ${'*'.repeat(Math.max(3, WIDTH - title.length - 1))}\n`
  }

  emit(e: BerthEvent): void {
    const c = this.#c
    switch (e.kind) {
      case 'playbook_start':
        if (e.check) this.write(c.dim(`(check mode: nothing will be changed${e.diff ? '; diffs shown' : ''})\n`))
        return
      case 'play_start':
        this.write(this.#banner(`PLAY [${e.play}]`))
        if (e.hosts.length === 0) this.write(c.dim(`skipping: no hosts matched '${e.pattern}' (or they failed earlier)\n`))
        return
      case 'task_start':
        this.write(this.#banner(`${e.handler ? 'RUNNING HANDLER' : 'TASK'} [${e.task}]`))
        return
      case 'host_result':
        this.write(this.#result(e))
        return
      case 'command':
        if (this.opts.verbosity < 1) return
        this.write(c.dim(`<${e.host}> $ ${e.command}  [exit ${e.code}, ${e.durationMs} ms]\n`))
        if (this.opts.verbosity >= 2) {
          if (e.stdout) this.write(c.dim(indent(e.stdout.trimEnd(), '  | ') + '\n'))
          if (e.stderr) this.write(c.dim(indent(e.stderr.trimEnd(), '  ! ') + '\n'))
        }
        return
      case 'file_write':
        if (this.opts.verbosity >= 1) this.write(c.dim(`<${e.host}> write ${e.path}${e.mode ? ` mode ${e.mode}` : ''}${e.owner ? ` owner ${e.owner}` : ''}\n`))
        return
      case 'warning':
        this.write(c.magenta(`[WARNING]: ${e.host ? `${e.host}: ` : ''}${e.message}\n`))
        return
      case 'message':
        this.write(`${e.message}\n`)
        return
      case 'error':
        this.write(c.red(`ERROR! ${e.message}\n`))
        return
      case 'recap':
        this.write(this.#recap(e))
        return
    }
  }

  #result(e: HostResultEvent): string {
    const c = this.#c
    const retried = e.attempts ? ` (after ${e.attempts} attempts)` : ''
    const timing = this.opts.timings ? c.dim(` [${e.durationMs} ms]`) : ''
    let out: string
    switch (e.status) {
      case 'ok':
        // As Ansible's -v shows a task's result: what was found (a read-only check's verdict, 'keepalived runs …').
        out = c.green(`ok: [${e.host}]${this.opts.verbosity >= 1 && e.summary ? ` => ${e.summary}` : ''}`) + retried + timing + '\n'
        break
      case 'changed':
        out = c.yellow(`changed: [${e.host}]${e.summary ? ` => ${e.summary}` : ''}`) + retried + timing + '\n'
        break
      case 'skipped':
        out = c.cyan(`skipping: [${e.host}]${e.summary && e.summary !== 'condition is false' ? ` => ${e.summary}` : ''}`) + '\n'
        break
      case 'failed':
        out = c.red(`fatal: [${e.host}]: FAILED! => ${indent(e.error ?? 'failed', '  ').trimStart()}`) + retried + '\n'
        break
      case 'unreachable':
        out = c.red(`fatal: [${e.host}]: UNREACHABLE! => ${indent(e.error ?? 'unreachable', '  ').trimStart()}`) + '\n'
        break
    }
    if (e.diff) out += colorDiff(e.diff, c) + '\n'
    return out
  }

  #recap(e: RecapEvent): string {
    const c = this.#c
    const names = Object.keys(e.hosts)
    const w = Math.max(0, ...names.map((n) => n.length)) + 1
    let out = this.#banner('PLAY RECAP')
    for (const name of names) {
      const k = e.hosts[name]
      if (!k) continue
      const bad = k.failed > 0 || k.unreachable > 0
      const label = bad ? c.red(name.padEnd(w)) : k.changed > 0 ? c.yellow(name.padEnd(w)) : c.green(name.padEnd(w))
      out += `${label}: ${c.green(`ok=${k.ok}`)}  ${c.yellow(`changed=${k.changed}`)}  ${k.unreachable ? c.red(`unreachable=${k.unreachable}`) : 'unreachable=0'}  ${k.failed ? c.red(`failed=${k.failed}`) : 'failed=0'}  ${c.cyan(`skipped=${k.skipped}`)}  ignored=${k.ignored}${k.unseen ? `  ${c.magenta(`unseen=${k.unseen}`)}` : ''}\n`
    }
    if (e.timings?.length) {
      out += '\n'
      for (const t of e.timings) out += `${(t.durationMs / 1000).toFixed(2).padStart(8)} s  ${t.play} / ${t.task}\n`
    }
    out += `\n${c.dim(`finished in ${(e.durationMs / 1000).toFixed(2)} s`)}\n`
    return out
  }
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((l) => prefix + l).join('\n')
}

function colorDiff(diff: string, c: Styles): string {
  return diff
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? c.green(l) : l.startsWith('-') && !l.startsWith('---') ? c.red(l) : l.startsWith('@@') ? c.cyan(l) : l))
    .join('\n')
}
