// `--runbook FILE`: the operations of a run as Markdown a person pastes over
// ssh. With a real run it is the record of what ran; with --check, what would
// run now. Per play, per host, in order: each task's title and the shell to
// paste on that host, file contents as quoted heredocs with their exact bytes,
// waits as bounded loops, guards as `if` tests.
import { createHash } from 'node:crypto'
import { placeTempFileSteps } from '../host.ts'
import { quote } from '../shell.ts'
import type { OperationRecord } from '../operations/record.ts'
import type { NamedPart } from '../secrets.ts'
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
    /** Finds the secrets in what ran, so the runbook refers to their variables instead of holding them. */
    private secrets: SecretNamer = NO_SECRETS,
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
    // Rendered first: the header lists the variables and files the blocks need.
    const variables = new Map<string, Set<string>>()
    const files: string[] = []
    const uploads: string[] = []
    let unnamed = false
    const sections = this.#plays.map((play) => {
      const lines = [`## Play: ${play.name} (\`${play.pattern}\`)`, '']
      if (play.hosts.size === 0) lines.push('No host matched.', '')
      for (const [host, tasks] of play.hosts) {
        const info = this.hostInfo(host)
        const login = info ? `ssh ${info.port ? `-p ${info.port} ` : ''}${info.user ? `${info.user}@` : ''}${info.address}` : `ssh ${host}`
        const asRoot = info?.become && info.become !== info.user ? ` then \`sudo -i${info.become === 'root' ? '' : ` -u ${info.become}`}\`` : ''
        lines.push(info?.local ? `### ${host}: on the machine berth ran on (no ssh)${asRoot}` : `### ${host}: \`${login}\`${asRoot}`, '')
        if (tasks.length === 0) lines.push('Nothing ran here (the host failed or was unreachable before this play).', '')
        const hostVariables = new Set<string>()
        const body: string[] = []
        let n = 0
        for (const t of tasks) {
          n++
          const title = `${n}. ${t.handler ? 'handler: ' : ''}${t.task}`
          if (t.status === 'skipped') body.push(`${title}: skipped (${t.summary ?? 'its condition is false'})`, '')
          else if (t.unseen) body.push(`${title}: **not planned yet**: ${t.summary ?? 'its state could not be seen'}; write the runbook again once the steps above have run`, '')
          else if (t.status === 'unreachable') body.push(`${title}: the host was unreachable; the run stopped here`, '')
          else if (!t.operations) body.push(t.status === 'ok' ? `${title}: nothing to do` : `${title}: **cannot be run by hand**: this step records no operations (it ran as code)`, '')
          else if (t.operations.length === 0) body.push(`${title}: nothing to do`, '')
          else {
            const shell = new OperationShell(this.secrets)
            const block = shell.block(t.operations)
            for (const v of shell.variables) hostVariables.add(v)
            files.push(...shell.files.map((f) => `\`${f}\` on ${host}`))
            uploads.push(...shell.uploads.map((u) => `\`${u.source}\` to \`${u.copy}\` on ${host}`))
            unnamed ||= shell.unnamed
            // A subshell with set -e: the block stops at its first error, and an `exit` in it leaves the operator's shell open.
            body.push(`${title}${t.status === 'failed' ? ' (it failed in this run)' : ''}`, '', '```sh', '(', 'set -e', ...block, ')', '```', '')
          }
        }
        if (hostVariables.size > 0) {
          for (const v of hostVariables) variables.set(v, (variables.get(v) ?? new Set()).add(host))
          lines.push(`${SECRETS_BLOCK_TITLE} (bash; nothing is echoed):`, '', '```sh', ...[...hostVariables].sort().map((v) => readSecretLine(v, this.secrets.multiLine(v))), '```', '')
        }
        lines.push(...body)
      }
      return lines
    })
    const out: string[] = [
      `# Runbook: ${h.playbook}`,
      '',
      `- ${this.#check ? 'What would run now (`--check`): nothing was changed.' : 'What ran.'} Made by berth ${h.version} on ${this.#time || new Date().toISOString()} from \`${h.invocation}\`.`,
      "- Each block runs on the host named above it, as root, in a POSIX shell: open the host with the `ssh` line, then paste the blocks in order; each is a subshell that stops at its first error, and you stop there too. A host's blocks for a play come after those for the plays before it.",
    ]
    if (variables.size > 0)
      out.push(
        `- Secrets are not in this runbook: blocks refer to them as shell variables. On each host, set the ones it needs before its blocks (each host's section opens with the \`read\` lines; a block stops if one is unset): ${[...variables].map(([v, hosts]) => `\`${v}\` (${[...hosts].join(', ')})`).join(', ')}.`,
      )
    if (unnamed) out.push('- Some secret values have no variable name berth knows (they did not come from a vault file) and are masked (`********`): put them in by hand where they stand.')
    if (files.length > 0) out.push(`- Sensitive content is not in this runbook: before you start, put these files on their hosts (mode 0600, exact bytes): ${files.join(', ')}.`)
    if (uploads.length > 0)
      out.push(`- Files copied from the machine berth ran on are not in this runbook: before you start, copy them onto their hosts (\`scp\`; each block checks the sha256 before it uses one): ${[...new Set(uploads)].join(', ')}.`)
    out.push('- Tasks with nothing to do are listed without a block.', '')
    for (const lines of sections) out.push(...lines)
    return out.join('\n').trimEnd() + '\n'
  }
}

/** Opens the block of `read` lines a host's section starts with (a script that replays a runbook skips it). */
export const SECRETS_BLOCK_TITLE = 'Set the secrets this host needs first'

/**
 * Where a runbook reads what it must not print and cannot name (a dump's
 * content, say): files the operator puts on the host, 0600, first.
 */
export const SENSITIVE_DIR = '/root/berth-sensitive'

/** Where a runbook expects the files berth copies from the controller (installers, image archives). */
export const UPLOAD_DIR = '/root/berth-files'

/** Where the operator puts an uploaded file: named by its checksum, so two versions never collide. */
export function uploadCopy(source: string, sha256: string): string {
  return `${UPLOAD_DIR}/${sha256.slice(0, 12)}-${source.split('/').pop() ?? 'file'}`
}

/** The file a sensitive standard input is read from, named after its command. */
export function sensitiveInput(command: string): string {
  return `${SENSITIVE_DIR}/input-${createHash('sha256').update(command).digest('hex').slice(0, 12)}`
}

/** How a runbook finds the secrets in a text: the run's redactor, or none (no secret is known). */
export interface SecretNamer {
  nameSecrets(text: string): NamedPart[]
  mask(text: string): string
  /** The named secret spans lines. */
  multiLine(name: string): boolean
}

const NO_SECRETS: SecretNamer = { nameSecrets: (text) => [{ text }], mask: (text) => text, multiLine: () => false }

/**
 * The line that reads a secret into its variable, echoing nothing: up to Enter,
 * or for a secret that spans lines (a PEM key) every line pasted, up to Ctrl-D
 * (its final newline kept: the variable holds the exact bytes).
 */
export const readSecretLine = (name: string, multiLine: boolean): string =>
  multiLine ? `IFS= read -rsd '' -p '${name} (paste it, then Ctrl-D on a line of its own): ' ${name}; echo` : `read -rsp '${name}: ' ${name} && echo`

/**
 * The shell for the operations of one block. It collects the secret variables
 * the block refers to (the block checks they are set), the files the operator
 * must put on the host first, and whether a secret berth knows no name for had
 * to be masked.
 */
export class OperationShell {
  readonly variables = new Set<string>()
  readonly files: string[] = []
  /** Files to copy from the controller first: where they are there, and where the operator puts them on the host. */
  readonly uploads: { source: string; copy: string }[] = []
  unnamed = false

  constructor(private readonly secrets: SecretNamer = NO_SECRETS) {}

  /** The block's lines: a check for each secret variable it uses, then the operations (no indentation: a heredoc's lines are content). */
  block(ops: readonly OperationRecord[]): string[] {
    const body = ops.flatMap((o) => this.operation(o))
    const checks = [...this.variables].sort().map((v) => `: "\${${v}:?set ${v} first: see the top of this runbook}"`)
    return [...checks, ...body]
  }

  operation(op: OperationRecord): string[] {
    switch (op.kind) {
      case 'run': {
        const command = `{ ${op.command}\n}`
        if (op.stdin === undefined && op.stdinBase64 === undefined && !op.stdinSensitive) return op.command.split('\n')
        const input = this.#input(command, op.stdin, op.stdinBase64, op.stdinSensitive === true)
        if (input) return input
        const file = sensitiveInput(op.command)
        this.files.push(file)
        return [`# its standard input is sensitive: not in this runbook; put it in ${file} first`, `${command} < ${quote(file)}`]
      }
      case 'write': {
        const p = quote(op.path)
        const head = [`# ${fileLine(op)}`]
        const mk = [...(op.makeParents ? [`mkdir -p -m 0755 -- "$(dirname -- ${p})"`] : []), `tmp=$(mktemp "$(dirname -- ${p})/.berth.XXXXXXXX")`]
        let body = this.#input(`cat > "$tmp"`, op.content, op.contentBase64, op.sensitive === true)
        if (!body) {
          const file = SENSITIVE_DIR + op.path
          this.files.push(file)
          body = [`# its content is sensitive: not in this runbook; put it in ${file} first`, `cat -- ${quote(file)} > "$tmp"`]
        }
        const place = placeTempFileSteps(op.path, { mode: op.mode, owner: op.owner, group: op.group, validate: op.validate, backup: op.backup, replaces: op.replaces })
        return [...head, ...mk, ...body, ...place]
      }
      case 'upload': {
        const copy = uploadCopy(op.source, op.sha256)
        this.uploads.push({ source: op.source, copy })
        const p = quote(op.path)
        return [
          `# ${fileLine(op)}, copied from ${op.source} (see the top of this runbook)`,
          `printf '%s  %s\\n' ${op.sha256} ${quote(copy)} | sha256sum -c --quiet -`,
          `tmp=$(mktemp "$(dirname -- ${p})/.berth.XXXXXXXX")`,
          `cp -- ${quote(copy)} "$tmp"`,
          ...placeTempFileSteps(op.path, { mode: op.mode, owner: op.owner, group: op.group, replaces: op.replaces }),
        ]
      }
      case 'wait': {
        // One line of it in a comment and a message: a probe that spans lines is shown whole below.
        const lines = op.what.split('\n')
        const what = lines.length > 1 ? `${lines[0]} …` : op.what
        const tries = Math.max(1, Math.ceil(op.timeoutMs / Math.max(op.intervalMs, 1)))
        const pause = (op.intervalMs / 1000).toString()
        return [
          `# wait until: ${what} (at most ${(op.timeoutMs / 1000).toFixed(0)} s)`,
          ...(op.delayMs ? [`sleep ${op.delayMs / 1000}`] : []),
          // Giving up fails the block, as berth's wait fails the task: the next step must not race.
          // The probe in a subshell of its own, as berth runs it: an `exit` in it ends the probe, not the block.
          `i=0; until ${String(op.probe).includes('\n') ? `(\n${op.probe}\n)` : `( ${op.probe} )`}; do i=$((i+1)); if [ "$i" -ge ${tries} ]; then echo ${quote(`gave up waiting: ${what}`)} >&2; exit 1; fi; sleep ${pause}; done`,
        ]
      }
      case 'guard':
        return [`# only if ${op.why}`, `if ${op.test}; then`, ...op.then.flatMap((o) => this.operation(o)), 'fi']
    }
  }

  /**
   * Feed data to a command. Without secrets: a quoted heredoc when it is text
   * ending in a newline (exact bytes), base64 otherwise. With named secrets: an
   * unquoted heredoc (or a double-quoted printf) where each secret is its
   * variable and nothing else expands. Sensitive data is written only when
   * every secret in it has a name and it holds at least one, so what the
   * runbook shows is references, never content; otherwise undefined.
   */
  #input(command: string, text: string | undefined, base64: string | undefined, sensitive: boolean): string[] | undefined {
    const parts = text === undefined ? undefined : this.secrets.nameSecrets(text)
    const named = parts?.some((p) => 'secret' in p) === true
    const hidden = parts?.some((p) => 'text' in p && this.secrets.mask(p.text) !== p.text) === true
    if (sensitive && (!named || hidden)) return undefined
    if (hidden) this.unnamed = true
    if (text === undefined || parts === undefined || !named) {
      if (text !== undefined && text.endsWith('\n')) {
        const d = delimiter(text, 'BERTH_EOF')
        return [`${command} <<'${d}'`, ...text.slice(0, -1).split('\n'), d]
      }
      const b64 = base64 ?? Buffer.from(text ?? '', 'utf8').toString('base64')
      return [`printf '%s' ${quote(b64)} | base64 -d | ${command}`]
    }
    for (const p of parts) if ('secret' in p) this.variables.add(p.secret)
    // A heredoc adds the final newline itself: only when the text's own last part is literal text that ends with one.
    const last = parts[parts.length - 1]
    if (last !== undefined && 'text' in last && last.text.endsWith('\n')) {
      // In an unquoted heredoc only \, $ and ` are special (and a backslash before a newline).
      const body = parts.map((p) => ('secret' in p ? `\${${p.secret}}` : p.text.replace(/[\\$`]/g, '\\$&'))).join('')
      const d = delimiter(body, 'BERTH_EOF')
      return [`${command} <<${d}`, ...body.slice(0, -1).split('\n'), d]
    }
    const quoted = parts.map((p) => ('secret' in p ? `\${${p.secret}}` : p.text.replace(/[\\$`"]/g, '\\$&'))).join('')
    return [`printf '%s' "${quoted}" | ${command}`]
  }
}

/** What a block's comment says of a file it places: path, size, mode and owner. */
function fileLine(op: { path: string; bytes: number; mode?: string | undefined; owner?: string | undefined; group?: string | undefined }): string {
  return `${op.path}: ${op.bytes} bytes${op.mode ? `, mode ${op.mode}` : ''}${op.owner || op.group ? `, ${op.owner ?? ''}:${op.group ?? ''}` : ''}`
}

/** A heredoc delimiter that is no line of `text`. */
function delimiter(text: string, base: string): string {
  const lines = new Set(text.split('\n'))
  let d = base
  for (let i = 1; lines.has(d); i++) d = `${base}_${i}`
  return d
}

/** The shell for one operation, with no secret known (tests, and records read back). */
export function renderOperation(op: OperationRecord, secrets?: SecretNamer): string[] {
  return new OperationShell(secrets).operation(op)
}
