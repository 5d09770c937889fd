// A resource is an idempotent unit: facts to read, a pure plan from those facts,
// and an apply that only mutates. A Task is a resource plus execution options
// (name, tags, notify, retries…), kept apart so a resource's arguments say only
// what the host should look like.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../host.ts'
import type { Fact, FactValues, Prediction } from '../facts/fact.ts'
import type { Operation } from '../operations/operation.ts'
import { callSiteOutside } from '../errors.ts'

// The engine's own folder: call sites are looked up outside it (playbook or role code).
const ENGINE_DIR = dirname(dirname(fileURLToPath(import.meta.url)))

export interface ContentDiff {
  path: string
  before: string
  after: string
}

export interface Plan {
  changed: boolean
  /** One line: what changes (or why nothing does). */
  summary?: string | undefined
  /** Content before and after, for --diff. */
  diff?: ContentDiff | undefined
  /** In --check: what facts will read once this plan is applied (a directory made), for the tasks after it. */
  predicts?: readonly Prediction[] | undefined
  /**
   * What applying the plan does, as data: the executor runs these (and the
   * runbook prints them) instead of calling the resource's apply().
   */
  operations?: readonly Operation[] | undefined
  /**
   * --check only: the task could not be planned because an earlier change was not
   * made; it is reported as a change whose operations are not known yet.
   */
  unseen?: boolean | undefined
  /**
   * The facts say the task does not apply to this host (Ansible's `when:` on a
   * gathered fact, see whenFact): reported as skipped, the summary says why.
   */
  skipped?: boolean | undefined
}

/** What an apply (or a command) produced, for later code in the playbook. */
export interface ApplyOutput {
  stdout?: string
  stderr?: string
  code?: number | null
  data?: unknown
  /** What happened, where it says more than the plan's summary ('port 5432 open after 1.2 s'). */
  summary?: string
}

export interface Resource<P extends Plan = Plan> {
  /** Default task name: `file /etc/motd`. */
  readonly title: string
  /** It waits for something to happen on the host (waitFor): in --check after unmade changes it does not wait. */
  readonly waits?: boolean
  /** Facts the plan needs; gathered in one batch with the neighbouring tasks' facts. */
  facts(): readonly Fact<unknown>[]
  /** Pure: from facts to what must change. */
  plan(facts: FactValues): P
  /**
   * For resources whose state cannot be read by batched facts (it depends on an
   * earlier probe, say): read it here, read-only. When present, the runner calls
   * this instead of facts() and plan().
   */
  check?(host: Host): Promise<P>
  /**
   * Mutate the host so that the plan holds; never called in check mode. Only for
   * resources whose plans carry no `operations` yet (those run through the executor).
   */
  apply?(host: Host, plan: P): Promise<ApplyOutput | void>
}

export interface Handler {
  readonly name: string
  readonly tasks: readonly Task[]
}

export interface TaskOptions {
  name?: string
  tags?: readonly string[]
  notify?: readonly Handler[]
  /** Skip the task on hosts where this is false. */
  when?: (host: Host) => boolean
  /** Try again after a failure, up to this many extra times. */
  retries?: number
  delayMs?: number
  /** Run on the first host of the batch only; the result is shared. */
  runOnce?: boolean
  /** A failure is reported but does not stop the host. */
  ignoreErrors?: boolean
  /** Run even in --check (as Ansible's `check_mode: false`). */
  checkModeRuns?: boolean
  /** The task only reads (a query): it runs in --check too and reports ok, not changed. */
  readOnly?: boolean
}

export class Task {
  /** `file:line` of the playbook or role code that declared the task, for error messages. */
  readonly definedAt: string | undefined
  constructor(
    readonly resource: Resource<Plan>,
    readonly options: TaskOptions = {},
    definedAt?: string,
  ) {
    this.definedAt = definedAt ?? callSiteOutside(ENGINE_DIR)
  }

  get name(): string {
    return this.options.name ?? this.resource.title
  }

  #with(extra: TaskOptions): Task {
    return new Task(this.resource, { ...this.options, ...extra }, this.definedAt)
  }
  named(name: string): Task {
    return this.#with({ name })
  }
  tags(...tags: string[]): Task {
    return this.#with({ tags: [...(this.options.tags ?? []), ...tags] })
  }
  notify(...handlers: Handler[]): Task {
    return this.#with({ notify: [...(this.options.notify ?? []), ...handlers] })
  }
  when(predicate: (host: Host) => boolean): Task {
    return this.#with({ when: predicate })
  }
  retry(retries: number, delayMs = 1000): Task {
    return this.#with({ retries, delayMs })
  }
  runOnce(): Task {
    return this.#with({ runOnce: true })
  }
  ignoreErrors(): Task {
    return this.#with({ ignoreErrors: true })
  }
  /** Also run in --check, changes included (as Ansible's `check_mode: false`). */
  inCheckMode(): Task {
    return this.#with({ checkModeRuns: true })
  }
  /** A query: runs in --check too, reports ok (as Ansible's `changed_when: false` plus `check_mode: false`). */
  readOnly(): Task {
    return this.#with({ readOnly: true })
  }
}

export const task = <P extends Plan>(resource: Resource<P>, options: TaskOptions = {}): Task => new Task(resource as Resource<Plan>, options)

export function handler(name: string, ...tasks: Task[]): Handler {
  return { name, tasks }
}

/** A task whose check and apply are written by hand, for steps no resource covers. */
export function step(
  title: string,
  impl: { check: (host: Host) => Promise<Plan>; apply: (host: Host, plan: Plan) => Promise<ApplyOutput | void> },
): Task {
  return new Task({ title, facts: () => [], plan: () => ({ changed: true }), check: impl.check, apply: impl.apply })
}
