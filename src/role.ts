// A role: an exported options interface, defaults, validation that runs before any
// host is touched, and a function from options to tasks.
import type { Host } from './host.ts'
import { RoleOptionError } from './errors.ts'
import type { Plan, Task } from './resources/resource.ts'
import { checkTasks, applyTasks, type TaskRunResult } from './runner/tasks.ts'

export interface RoleSpec<O extends object, D extends Partial<O>> {
  name: string
  defaults: D
  /** Options with no default that a caller must give. */
  required: readonly Exclude<keyof O, keyof D>[]
  /** Throw RoleOptionError (via `fail`) for an option the role cannot work with. */
  validate?: (options: O, fail: (option: keyof O & string, problem: string, hint?: string) => never) => void
  tasks: (options: O) => Task[]
}

/** What a caller passes: the required options, and any of the defaulted ones. */
export type RoleInput<O extends object, D extends Partial<O>> = Omit<O, keyof D> & Partial<Pick<O, keyof D & keyof O>>

export interface RoleInstance {
  readonly role: string
  readonly tasks: readonly Task[]
}

export interface Role<O extends object, D extends Partial<O>> {
  (options: RoleInput<O, D>): RoleInstance
  readonly roleName: string
  readonly defaults: D
  /** Merge defaults and validate; throws RoleOptionError naming the option. */
  resolve(options: RoleInput<O, D>): O
  /** Drift report: what apply would change on this host. Changes nothing. */
  check(host: Host, options: RoleInput<O, D>): Promise<TaskRunResult[]>
  /** Converge this host. */
  apply(host: Host, options: RoleInput<O, D>): Promise<TaskRunResult[]>
}

export function defineRole<O extends object, D extends Partial<O>>(spec: RoleSpec<O, D>): Role<O, D> {
  const fail = (option: string, problem: string, hint?: string): never => {
    throw new RoleOptionError(spec.name, option, problem, hint)
  }
  const resolve = (input: RoleInput<O, D>): O => {
    if (input === null || typeof input !== 'object') fail('(options)', 'must be an object')
    const merged = { ...spec.defaults } as Record<string, unknown>
    for (const [k, v] of Object.entries(input)) if (v !== undefined) merged[k] = coerceLike((spec.defaults as Record<string, unknown>)[k], v)
    for (const key of spec.required)
      if (merged[key as string] === undefined || merged[key as string] === null)
        fail(key as string, 'is missing', `give it in the play's options for ${spec.name}, usually from a group_vars variable`)
    const options = merged as O
    spec.validate?.(options, fail as (option: keyof O & string, problem: string, hint?: string) => never)
    return options
  }
  const instance = (input: RoleInput<O, D>): RoleInstance => {
    const options = resolve(input)
    const tasks = spec.tasks(options).map((t) => t.named(`${spec.name} : ${t.name}`))
    return { role: spec.name, tasks }
  }
  return Object.assign(instance, {
    roleName: spec.name,
    defaults: spec.defaults,
    resolve,
    check: (host: Host, input: RoleInput<O, D>) => checkTasks(host, instance(input).tasks),
    apply: (host: Host, input: RoleInput<O, D>) => applyTasks(host, instance(input).tasks),
  })
}

const TRUE = new Set(['true', 'yes', 'on', '1'])
const FALSE = new Set(['false', 'no', 'off', '0'])

/**
 * `-e pg.port=5433` gives the text '5433', as Ansible's -e does. Like Ansible's
 * argument spec, an option whose default is a number or a boolean takes that
 * text as the number or boolean it spells; anything else is left for the
 * role's validation to refuse by name.
 */
export function coerceLike(defaultValue: unknown, value: unknown): unknown {
  if (typeof value !== 'string') return value
  const text = value.trim()
  if (typeof defaultValue === 'number' && /^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  if (typeof defaultValue === 'boolean') {
    if (TRUE.has(text.toLowerCase())) return true
    if (FALSE.has(text.toLowerCase())) return false
  }
  return value
}

export type { Plan }
