// A fact is a read-only probe: one shell command and a pure parser of its result.
// Facts of one host and step are batched into a single exec (see gather.ts).
import type { ShellCommand } from '../shell.ts'

export interface ProbeOutput {
  code: number | null
  stdout: string
  stderr: string
}

export interface Fact<T> {
  /** Identity for batching and caching: same key, same command. */
  readonly key: string
  readonly command: ShellCommand
  parse(output: ProbeOutput): T
}

export function fact<T>(key: string, command: ShellCommand, parse: (output: ProbeOutput) => T): Fact<T> {
  return { key, command, parse }
}

/** The values of gathered facts, read back with the fact itself (typed). */
export interface FactValues {
  get<T>(fact: Fact<T>): T
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
}

/** Build FactValues from parsed values, for tests of pure plan functions. */
export function factValues(entries: [Fact<unknown>, unknown][]): FactValues {
  const m = new FactMap()
  for (const [f, v] of entries) m.set(f, v)
  return m
}
