// The entry point of a playbook script:
//
//   await playbook('web', async (pb) => { await pb.play('motd', 'all', (h) => [copy({...})]) })
//
// It reads the command line, loads the inventory and vault, runs the plays the
// script declares, prints the recap, closes every connection and sets the exit code.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { BerthError, ConfigError } from './errors.ts'
import { Host } from './host.ts'
import { waitUntil } from './wait-until.ts'
import { Redactor, Secret } from './secrets.ts'
import { withoutSensitiveContent } from './operations/record.ts'
import { Inventory, type InventoryHost } from './inventory/inventory.ts'
import { parseExtraVars } from './inventory/extra-vars.ts'
import { readVaultPasswordFile, type VaultPasswordSource } from './inventory/vault.ts'
import { transportFor } from './connection/open.ts'
import { parseCli, HELP, UsageError, DRIFT_EXIT_CODE, type CliOptions } from './cli/args.ts'
import { runPlay, RunLedger, PlayResult, type PlayOptions, type RunSettings } from './runner/play.ts'
import { isSelected } from './runner/tags.ts'
import type { BerthEvent } from './report/events.ts'
import type { Reporter } from './report/reporter.ts'
import { RunbookReporter, type RunbookHost } from './report/runbook.ts'
import { JsonReporter } from './report/json.ts'
import { TextReporter, colorStyles } from './report/text.ts'
import { describeError, isEngineBug } from './report/describe.ts'
import type { Task } from './resources/resource.ts'
import type { RoleInstance } from './role.ts'

export type PlayItem = Task | RoleInstance | readonly PlayItem[]
export type PlayBuilder = (host: Host) => PlayItem

export interface PlaybookRunOptions {
  /** Command-line arguments; default process.argv after the script. */
  argv?: readonly string[]
  /** Where text or JSON goes; default stdout (errors in text mode: stderr). */
  out?: (text: string) => void
  err?: (text: string) => void
  /** Set process.exitCode (default true). Tests read the returned code instead. */
  setExitCode?: boolean
  /** ~/.ssh/config to honour; default the user's. */
  sshConfigPath?: string
  env?: NodeJS.ProcessEnv
}

export class Playbook {
  readonly ledger = new RunLedger()
  readonly #hosts = new Map<string, Host>()
  readonly #limit: Set<string> | undefined

  constructor(
    readonly name: string,
    readonly inventory: Inventory,
    readonly cli: CliOptions,
    readonly redactor: Redactor,
    private reporter: Reporter,
    private sshConfigPath: string | undefined,
    /** Sees the events unmasked (the runbook, which names secrets instead of printing them); its output is masked once whole. */
    private recorder?: Reporter,
  ) {
    // An unknown name in --limit fails here, before any host is touched.
    this.#limit = cli.limit === undefined ? undefined : new Set(inventory.select(cli.limit, '--limit').map((h) => h.name))
  }

  get check(): boolean {
    return this.cli.check
  }
  get settings(): RunSettings {
    return {
      check: this.cli.check,
      diff: this.cli.diff,
      forks: this.cli.forks,
      verbosity: this.cli.verbosity,
      tags: { only: this.cli.tags, skip: this.cli.skipTags },
    }
  }

  emit(unstamped: BerthEvent): void {
    const event: BerthEvent = unstamped.at === undefined ? { ...unstamped, at: new Date().toISOString() } : unstamped
    this.recorder?.emit(event)
    const masked = this.redactor.maskDeep(event.kind === 'host_result' && event.operations ? { ...event, operations: withoutSensitiveContent(event.operations) } : event)
    // Diffs and file contents are masked line by line: a short line of a multi-line secret shows nowhere.
    if (event.kind === 'host_result' && masked.kind === 'host_result' && event.diff !== undefined) masked.diff = this.redactor.maskDiff(event.diff)
    if (event.kind === 'file_write' && masked.kind === 'file_write') masked.content = this.redactor.maskContent(event.content)
    this.reporter.emit(masked)
    for (const observer of this.#observers) observer(masked)
  }

  /** See every event of the run from now on, masked as the reporter sees it (a drill's step records its tasks). Returns the way to stop. */
  observe(observer: (event: BerthEvent) => void): () => void {
    this.#observers.add(observer)
    return () => void this.#observers.delete(observer)
  }
  readonly #observers = new Set<(event: BerthEvent) => void>()

  /**
   * A secret the playbook makes itself (read from a file, generated): masked
   * by value in every output of the run, and named `name` in a runbook (as
   * vaulted values are named after their variable).
   */
  secret(value: string, name: string): Secret {
    const s = new Secret(value, name)
    this.redactor.add(s)
    return s
  }

  /** Print a line of the playbook's own (masked, and a JSON event with --json). */
  log(message: string): void {
    this.emit({ kind: 'message', message })
  }

  /** The Host for an inventory name (one connection per host for the whole run). */
  host(name: string): Host {
    const existing = this.#hosts.get(name)
    if (existing) return existing
    const inv = this.inventory.host(name)
    if (!inv) throw new ConfigError(`no host named '${name}' in the inventory`, { hint: `known hosts: ${this.inventory.hosts().map((h) => h.name).join(', ')}` })
    return this.#makeHost(inv)
  }

  /** Hosts matching a pattern, within --limit. */
  hosts(pattern: string): Host[] {
    return this.inventory
      .select(pattern)
      .filter((h) => !this.#limit || this.#limit.has(h.name))
      .map((h) => this.#hosts.get(h.name) ?? this.#makeHost(h))
  }

  #makeHost(inv: InventoryHost): Host {
    const t = transportFor(inv.name, inv.vars, this.sshConfigPath)
    if (t.become?.password) this.redactor.add(t.become.password)
    const host = new Host({
      name: inv.name,
      address: typeof inv.vars.ansible_host === 'string' ? inv.vars.ansible_host : inv.name,
      vars: inv.vars,
      connection: t.connection,
      redactor: this.redactor,
      become: t.become,
      user: t.user,
      record: (e) => this.emit(e),
    })
    this.#hosts.set(inv.name, host)
    return host
  }

  /**
   * Run a play: `build` is called for every host first (so a bad role option or a
   * template error fails before any host is touched), then the tasks run.
   */
  async play(name: string, pattern: string, build: PlayBuilder, options: PlayOptions = {}): Promise<PlayResult> {
    // Hosts that failed or were unreachable in an earlier play sit the rest of the run out, as in Ansible.
    const hosts = this.hosts(pattern).filter((h) => !this.ledger.failed.has(h.name) && !this.ledger.unreachable.has(h.name))
    const tasks = new Map<string, Task[]>()
    for (const h of hosts) tasks.set(h.name, flatten(build(h)))
    if (this.cli.listHosts || this.cli.listTasks) {
      this.#list(name, pattern, hosts, tasks, options)
      return new PlayResult(name, new Map())
    }
    return runPlay({ name, pattern, hosts, tasks, options }, this.settings, this.ledger, (e) => this.emit(e))
  }

  #list(name: string, pattern: string, hosts: Host[], tasks: Map<string, Task[]>, options: PlayOptions): void {
    let out = `\nplay #${++this.#listed} (${pattern}): ${name}\n`
    if (this.cli.listHosts) out += `  pattern: ${pattern}\n  hosts (${hosts.length}):\n${hosts.map((h) => `    ${h.name}\n`).join('')}`
    if (this.cli.listTasks) {
      const seen = new Set<string>()
      out += '  tasks:\n'
      for (const list of tasks.values())
        for (const t of list) {
          const tags = [...(options.tags ?? []), ...(t.options.tags ?? [])]
          if (seen.has(t.name) || !isSelected(tags, this.settings.tags)) continue
          seen.add(t.name)
          out += `    ${t.name}${tags.length ? `\tTAGS: [${tags.join(', ')}]` : ''}\n`
        }
    }
    this.listing.push(out)
  }
  #listed = 0
  readonly listing: string[] = []

  async close(): Promise<void> {
    await Promise.allSettled([...this.#hosts.values()].map((h) => h.connection.close()))
  }

  /**
   * A fault the playbook causes on purpose (a drill kills a host): the host's
   * failures and unreachability in this run are reported as they are but do not
   * turn it into exit 2 or 4. The drill's own verdict decides (decideExit).
   */
  expectFault(host: string, why: string): void {
    this.host(host)
    this.ledger.expectedFaults.set(host, why)
  }

  /**
   * Bring a host back into the run after it was unreachable or failed (a drill
   * restarted it): its connection is opened anew, retried until `timeoutMs`,
   * and the plays that follow include it again. Returns how long it took.
   */
  async reconnect(name: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<{ waitedMs: number }> {
    const host = this.host(name)
    const timeoutMs = opts.timeoutMs ?? 60_000
    const w = await waitUntil(
      async () => {
        await host.connection.close()
        await host.connection.connect()
        return true
      },
      (connected) => connected,
      { timeoutMs, intervalMs: opts.intervalMs ?? 500 },
    )
    if (!w.ok)
      throw new BerthError(`${name}: not reachable again within ${(timeoutMs / 1000).toFixed(1)} s: ${w.error ?? 'no answer'}`, {
        hint: 'is the host up? its console or hypervisor says why it did not come back',
      })
    this.ledger.readmit(name)
    this.ledger.expectedFaults.delete(name)
    return { waitedMs: w.waitedMs }
  }

  /** The run's exit code is this, whatever the hosts did (a drill's verdict: see src/drill/). */
  decideExit(code: number): void {
    this.#decidedExit = code
  }
  #decidedExit: number | undefined

  /** Ansible's exit codes: failures win over unreachable hosts, drift only with --detect-drift; a drill's verdict over all. */
  exitCode(): number {
    if (this.#decidedExit !== undefined) return this.#decidedExit
    const unexpected = (hosts: ReadonlySet<string>) => [...hosts].some((h) => !this.ledger.expectedFaults.has(h))
    if (unexpected(this.ledger.failed)) return 2
    if (unexpected(this.ledger.unreachable)) return 4
    if (this.cli.check && this.cli.detectDrift && [...this.ledger.counts.values()].some((c) => c.changed > 0)) return DRIFT_EXIT_CODE
    return 0
  }
}

function flatten(item: PlayItem): Task[] {
  if (Array.isArray(item)) return (item as readonly PlayItem[]).flatMap(flatten)
  if ('tasks' in (item as RoleInstance) && 'role' in (item as RoleInstance)) return [...(item as RoleInstance).tasks]
  return [item as Task]
}

async function vaultPasswords(cli: CliOptions, env: NodeJS.ProcessEnv): Promise<VaultPasswordSource[]> {
  const out: VaultPasswordSource[] = []
  for (const f of cli.vaultPasswordFiles) out.push({ password: await readVaultPasswordFile(f) })
  const file = env.BERTH_VAULT_PASSWORD_FILE ?? env.ANSIBLE_VAULT_PASSWORD_FILE
  if (file && cli.vaultPasswordFiles.length === 0) out.push({ password: await readVaultPasswordFile(file) })
  if (env.BERTH_VAULT_PASSWORD) out.push({ password: env.BERTH_VAULT_PASSWORD })
  return out
}

/** Run a playbook script; returns the exit code (and sets process.exitCode unless told not to). */
export async function playbook(name: string, body: (pb: Playbook) => Promise<void>, opts: PlaybookRunOptions = {}): Promise<number> {
  const started = performance.now()
  const out = opts.out ?? ((t: string) => void process.stdout.write(t))
  const env = opts.env ?? process.env
  const redactor = new Redactor()
  let code: number
  let pb: Playbook | undefined
  let cli: CliOptions | undefined
  let runbook: RunbookReporter | undefined
  let reporter: Reporter = new TextReporter({ color: false, verbosity: 0, timings: false }, opts.err ?? ((t) => void process.stderr.write(t)))
  const onSigint = () => {
    reporter.emit({ kind: 'error', message: 'interrupted: closing connections; run the playbook again to converge' })
    void pb?.close().finally(() => process.exit(99))
  }
  process.once('SIGINT', onSigint)
  try {
    cli = parseCli(opts.argv ?? process.argv.slice(2))
    if (cli.help) {
      out(HELP + '\n')
      return finish(0)
    }
    const color = !cli.json && process.stdout.isTTY === true && !env.NO_COLOR && opts.out === undefined
    reporter = cli.json ? new JsonReporter(out) : new TextReporter({ color, verbosity: cli.verbosity, timings: cli.timings }, out, color ? await colorStyles() : undefined)
    if (cli.runbook !== undefined && !cli.listHosts && !cli.listTasks) {
      const invocation = [relative(process.cwd(), process.argv[1] ?? name) || name, ...(opts.argv ?? process.argv.slice(2))].join(' ')
      runbook = new RunbookReporter({ playbook: name, invocation: redactor.mask(invocation), version: berthVersion() }, (host) => (pb ? runbookHost(pb.inventory, host) : undefined), redactor)
    }
    const passwords = await vaultPasswords(cli, env)
    for (const p of passwords) redactor.add(p.password)
    const extraVars = await parseExtraVars(cli.extraVars, process.cwd(), passwords, redactor)
    const loadOptions = { extraVars, vaultPasswords: passwords, redactor }
    const inventory = cli.inventories.length > 0 ? await Inventory.load(cli.inventories, loadOptions) : Inventory.localhost(loadOptions)
    pb = new Playbook(name, inventory, cli, redactor, reporter, opts.sshConfigPath, runbook)
    if (!cli.listHosts && !cli.listTasks)
      pb.emit({ kind: 'playbook_start', playbook: name, check: cli.check, diff: cli.diff, time: new Date().toISOString() })
    await body(pb)
    if (cli.listHosts || cli.listTasks) {
      out(redactor.mask(`\nplaybook: ${name}\n${pb.listing.join('')}`))
      return finish(0)
    }
    code = pb.exitCode()
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e))
    const message = redactor.mask(describeError(error, cli?.verbosity ?? 0))
    if (cli?.json) (pb ? pb.emit({ kind: 'error', message }) : reporter.emit({ kind: 'error', message, at: new Date().toISOString() }))
    else (opts.err ?? ((t: string) => void process.stderr.write(t)))(`ERROR! ${message}\n`)
    code = error instanceof UsageError ? 5 : isEngineBug(error) ? 250 : 1
    if (pb && pb.ledger.counts.size > 0 && code === 1) code = pb.exitCode() || 1
  }
  if (pb && !(cli?.listHosts || cli?.listTasks) && pb.ledger.counts.size > 0)
    pb.emit({
      kind: 'recap',
      hosts: Object.fromEntries(pb.ledger.counts),
      durationMs: Math.round(performance.now() - started),
      timings: cli?.timings ? [...pb.ledger.timings].sort((a, b) => b.durationMs - a.durationMs).slice(0, 20) : undefined,
    })
  return finish(code)

  async function finish(c: number): Promise<number> {
    process.removeListener('SIGINT', onSigint)
    await pb?.close()
    // Also after a failure: the runbook then records what ran up to it.
    if (runbook && cli?.runbook !== undefined) writeRunbook(cli.runbook, redactor.mask(runbook.markdown()), (t) => (opts.err ?? ((x: string) => void process.stderr.write(x)))(t))
    if (opts.setExitCode !== false) process.exitCode = c
    return c
  }
}

/** berth's version, from its package.json. */
function berthVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/** How the runbook says to reach a host: its address and login user, and whom berth becomes there. */
function runbookHost(inventory: Inventory, name: string): RunbookHost | undefined {
  const vars = inventory.host(name)?.vars
  if (!vars) return undefined
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined)
  const port = text(vars.ansible_port)
  const address = text(vars.ansible_host) ?? name
  return {
    address,
    port: port && port !== '22' ? port : undefined,
    local: vars.ansible_connection === 'local' || undefined,
    user: text(vars.ansible_user),
    become: vars.ansible_become === true || vars.ansible_become === 'true' ? (text(vars.ansible_become_user) ?? 'root') : undefined,
  }
}

/** Write the runbook atomically, readable by its owner only (it describes the hosts). */
function writeRunbook(path: string, markdown: string, warn: (text: string) => void): void {
  const tmp = `${path}.berth-${process.pid}`
  try {
    writeFileSync(tmp, markdown, { mode: 0o600 })
    renameSync(tmp, path)
  } catch (e) {
    warn(`WARNING: could not write the runbook to ${path}: ${(e as Error).message}\n`)
  }
}
