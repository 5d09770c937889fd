// `--runbook FILE`: the operations of a run as Markdown a person pastes over
// ssh. With a real run it is the record of what ran; with --check, what would
// run now. Per play, per host, in order: each task's title and the shell to
// paste on that host, file contents as quoted heredocs with their exact bytes,
// waits as bounded loops, guards as `if` tests.
import { createHash } from 'node:crypto'
import { placeTempFileSteps } from '../host.ts'
import { quote } from '../shell.ts'
import type { OperationRecord } from '../operations/record.ts'
import type { BerthEvent } from './events.ts'
import type { Reporter } from './reporter.ts'

/** How to reach a host, for the line that opens its section. */
export interface RunbookHost {
  address: string
  /** When not 22. */
  port?: string | undefined
  /** berth ran its commands on the controller itself (ansible_connection: local). */
  local?: boolean | undefined
  user?: string | undefined
  /** The user commands run as, when berth becomes one (sudo). */
  become?: string | undefined
}

interface TaskEntry {
  task: string
  handler: boolean
  status: string
  operations: OperationRecord[] | undefined
  unseen: boolean
  summary: string | undefined
}

interface PlayEntry {
  name: string
  pattern: string
  hosts: Map<string, TaskEntry[]>
}

export interface RunbookHeader {
  playbook: string
  /** The command line, for the reader: `./playbooks/x.ts -i inventory/lab.yml`. */
  invocation: string
  version: string
}

export class RunbookReporter implements Reporter {
  readonly #plays: PlayEntry[] = []
  #check = false
  #time = ''
  readonly #handlers = new Set<string>()

  constructor(
    private header: RunbookHeader,
    private hostInfo: (name: string) => RunbookHost | undefined,
  ) {}

  emit(e: BerthEvent): void {
    switch (e.kind) {
      case 'playbook_start':
        this.#check = e.check
        this.#time = e.time
        return
      case 'play_start':
        this.#plays.push({ name: e.play, pattern: e.pattern, hosts: new Map(e.hosts.map((h) => [h, []])) })
        return
      case 'task_start':
        if (e.handler) this.#handlers.add(e.task)
        return
      case 'host_result': {
        const play = this.#plays.at(-1)
        if (!play) return
        const tasks = play.hosts.get(e.host) ?? []
        play.hosts.set(e.host, tasks)
        tasks.push({ task: e.task, handler: this.#handlers.has(e.task), status: e.status, operations: e.operations, unseen: e.unseen === true, summary: e.summary })
        return
      }
      default:
        return
    }
  }

  /** The Markdown, once the run is over. */
  markdown(): string {
    const h = this.header
    const out: string[] = [
      `# Runbook: ${h.playbook}`,
      '',
      `- ${this.#check ? 'What would run now (`--check`): nothing was changed.' : 'What ran.'} Made by berth ${h.version} on ${this.#time || new Date().toISOString()} from \`${h.invocation}\`.`,
      '- Each block runs on the host named above it, as root, in a POSIX shell: open the host with the `ssh` line, then paste the blocks in order; each is a subshell that stops at its first error, and you stop there too. A host\'s blocks for a play come after those for the plays before it.',
      '- Secret values are masked (`********`): put them in by hand where they stand.',
      '- Tasks with nothing to do are listed without a block.',
    ]
    const sensitive = [...this.#plays].flatMap((p) => [...p.hosts].flatMap(([host, tasks]) => tasks.flatMap((t) => sensitiveFiles(t.operations ?? []).map((f) => `\`${f}\` on ${host}`))))
    if (sensitive.length > 0)
      out.push(`- Sensitive content is not in this runbook: before you start, put these files on their hosts (mode 0600, exact bytes): ${sensitive.join(', ')}.`)
    out.push('')
    for (const play of this.#plays) {
      out.push(`## Play: ${play.name} (\`${play.pattern}\`)`, '')
      if (play.hosts.size === 0) out.push('No host matched.', '')
      for (const [host, tasks] of play.hosts) {
        const info = this.hostInfo(host)
        const login = info ? `ssh ${info.port ? `-p ${info.port} ` : ''}${info.user ? `${info.user}@` : ''}${info.address}` : `ssh ${host}`
        const asRoot = info?.become && info.become !== info.user ? ` then \`sudo -i${info.become === 'root' ? '' : ` -u ${info.become}`}\`` : ''
        out.push(info?.local ? `### ${host}: on the machine berth ran on (no ssh)${asRoot}` : `### ${host}: \`${login}\`${asRoot}`, '')
        if (tasks.length === 0) out.push('Nothing ran here (the host failed or was unreachable before this play).', '')
        let n = 0
        for (const t of tasks) {
          n++
          const title = `${n}. ${t.handler ? 'handler: ' : ''}${t.task}`
          if (t.status === 'skipped') out.push(`${title}: skipped (its condition is false)`, '')
          else if (t.unseen) out.push(`${title}: **not planned yet**: ${t.summary ?? 'its state could not be seen'}; write the runbook again once the steps above have run`, '')
          else if (t.status === 'unreachable') out.push(`${title}: the host was unreachable; the run stopped here`, '')
          else if (!t.operations) out.push(t.status === 'ok' ? `${title}: nothing to do` : `${title}: **cannot be run by hand**: this step records no operations (it ran as code)`, '')
          else if (t.operations.length === 0) out.push(`${title}: nothing to do`, '')
          // A subshell with set -e: the block stops at its first error, and an `exit` in it leaves the operator's shell open.
          else out.push(`${title}${t.status === 'failed' ? ' (it failed in this run)' : ''}`, '', '```sh', '(', 'set -e', ...t.operations.flatMap((o) => renderOperation(o)), ')', '```', '')
        }
      }
    }
    return out.join('\n').trimEnd() + '\n'
  }
}

/**
 * Where a runbook reads what it must not print (a sensitive file's content, SQL
 * with a password verifier): files the operator puts on the host, 0600, first.
 */
export const SENSITIVE_DIR = '/root/berth-sensitive'

/** The file a sensitive standard input is read from, named after its command. */
export function sensitiveInput(command: string): string {
  return `${SENSITIVE_DIR}/input-${createHash('sha256').update(command).digest('hex').slice(0, 12)}`
}

/** The sensitive files an operation list reads, for the runbook's header. */
function sensitiveFiles(ops: readonly OperationRecord[]): string[] {
  return ops.flatMap((op) =>
    op.kind === 'write' && op.sensitive ? [SENSITIVE_DIR + op.path] : op.kind === 'run' && op.stdinSensitive ? [sensitiveInput(op.command)] : op.kind === 'guard' ? sensitiveFiles(op.then) : [],
  )
}

/** A heredoc delimiter that is no line of `text`. */
function delimiter(text: string, base: string): string {
  const lines = new Set(text.split('\n'))
  let d = base
  for (let i = 1; lines.has(d); i++) d = `${base}_${i}`
  return d
}

/** Feed `data` to a command: a quoted heredoc when it is text ending in a newline (exact bytes), base64 otherwise. */
function withInput(command: string, text: string | undefined, base64: string | undefined): string[] {
  if (text !== undefined && text.endsWith('\n')) {
    const d = delimiter(text, 'BERTH_EOF')
    return [`${command} <<'${d}'`, ...text.slice(0, -1).split('\n'), d]
  }
  const b64 = base64 ?? Buffer.from(text ?? '', 'utf8').toString('base64')
  return [`printf '%s' ${quote(b64)} | base64 -d | ${command}`]
}

/** The shell for one operation (no indentation inside guards: a heredoc's lines are content). */
export function renderOperation(op: OperationRecord): string[] {
  return ((): string[] => {
    switch (op.kind) {
      case 'run':
        if (op.stdinSensitive) return [`# its standard input is sensitive: not in this runbook; put it in ${sensitiveInput(op.command)} first`, `{ ${op.command}\n} < ${quote(sensitiveInput(op.command))}`]
        return op.stdin !== undefined || op.stdinBase64 !== undefined ? withInput(`{ ${op.command}\n}`, op.stdin, op.stdinBase64) : op.command.split('\n')
      case 'write': {
        const p = quote(op.path)
        const head = [`# ${op.path}: ${op.bytes} bytes${op.mode ? `, mode ${op.mode}` : ''}${op.owner || op.group ? `, ${op.owner ?? ''}:${op.group ?? ''}` : ''}`]
        const mk = [...(op.makeParents ? [`mkdir -p -m 0755 -- "$(dirname -- ${p})"`] : []), `tmp=$(mktemp "$(dirname -- ${p})/.berth.XXXXXXXX")`]
        const body = op.sensitive
          ? [`# its content is sensitive: not in this runbook; put it in ${SENSITIVE_DIR}${op.path} first`, `cat -- ${quote(SENSITIVE_DIR + op.path)} > "$tmp"`]
          : withInput(`cat > "$tmp"`, op.content, op.contentBase64)
        const place = placeTempFileSteps(op.path, {
          mode: op.mode,
          owner: op.owner,
          group: op.group,
          validate: op.validate,
          backup: op.backup,
        })
        return [...head, ...mk, ...body, ...place]
      }
      case 'wait': {
        const tries = Math.max(1, Math.ceil(op.timeoutMs / Math.max(op.intervalMs, 1)))
        const pause = (op.intervalMs / 1000).toString()
        return [
          `# wait until: ${op.what} (at most ${(op.timeoutMs / 1000).toFixed(0)} s)`,
          ...(op.delayMs ? [`sleep ${op.delayMs / 1000}`] : []),
          `i=0; until ${op.probe}; do i=$((i+1)); if [ "$i" -ge ${tries} ]; then echo ${quote(`gave up waiting: ${op.what}`)} >&2; break; fi; sleep ${pause}; done`,
        ]
      }
      case 'guard':
        return [`# only if ${op.why}`, `if ${op.test}; then`, ...op.then.flatMap((o) => renderOperation(o)), 'fi']
    }
  })()
}
