// A fact is a read-only probe: one shell command and a pure parser of its result.
// Facts of one host and step are batched into a single exec (see gather.ts).
import type { ShellCommand } from '../shell.ts'

export interface ProbeOutput {
  code: number | null
  stdout: string
  stderr: string
  /** The batch ended before this probe did (see gather.ts); stderr then says how. Never parsed. */
  cutShort?: boolean
}

export interface Fact<T> {
  /** Identity for batching and caching: same key, same command. */
  readonly key: string
  readonly command: ShellCommand
  parse(output: ProbeOutput): T
  /**
   * The command only runs shell builtins (`[`, `echo`) and changes no shell state,
   * so a batch runs it in place rather than in a subshell: no fork.
   */
  readonly inline?: boolean
  /**
   * The command waits on something slower than the file system (a Docker
   * engine, a database, a package index): a batch starts it first, in the
   * background, and the quick probes run meanwhile.
   */
  readonly slow?: boolean
}

export function fact<T>(key: string, command: ShellCommand, parse: (output: ProbeOutput) => T, options: { inline?: boolean; slow?: boolean } = {}): Fact<T> {
  return { key, command, parse, ...(options.inline ? { inline: true } : {}), ...(options.slow ? { slow: true } : {}) }
}

/**
 * What a fact will read once a plan is applied. In --check nothing is applied, so
 * the runner hands later tasks of the host these values instead of the host's
 * (a directory an earlier task would create is there for a file planned in it).
 */
export interface Prediction {
  readonly fact: Fact<unknown>
  readonly value: unknown
}

export const predict = <T>(fact: Fact<T>, value: T): Prediction => ({ fact, value })


/** The values of gathered facts, read back with the fact itself (typed). */
export interface FactValues {
  get<T>(fact: Fact<T>): T
  /** Whether the fact was gathered (a plan may do without one that a test leaves out). */
  has?(fact: Fact<unknown>): boolean
}

export class FactMap implements FactValues {
  #values = new Map<string, unknown>()
  set<T>(fact: Fact<T>, value: T): void {
    this.#values.set(fact.key, value)
  }
  has(fact: Fact<unknown>): boolean {
    return this.#values.has(fact.key)
  }
  get<T>(fact: Fact<T>): T {
    if (!this.#values.has(fact.key)) throw new Error(`fact ${fact.key} was not gathered`)
    return this.#values.get(fact.key) as T
  }
  delete(fact: Fact<unknown>): void {
    this.#values.delete(fact.key)
  }
  /** A copy: the same values, set and deleted independently from here on. */
  clone(): FactMap {
    const m = new FactMap()
    for (const [k, v] of this.#values) m.#values.set(k, v)
    return m
  }
}

/** Build FactValues from parsed values, for tests of pure plan functions. */
export function factValues(entries: [Fact<unknown>, unknown][]): FactValues {
  const m = new FactMap()
  for (const [f, v] of entries) m.set(f, v)
  return m
}
