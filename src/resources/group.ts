// `group`: a local group present (with its gid) or absent, via groupadd,
// groupmod and groupdel: only what differs.
import { groupFact, type GroupAccount } from '../facts/users.ts'
import type { FactValues } from '../facts/fact.ts'
import { sh, type ShellCommand } from '../shell.ts'
import { argumentError, withCommandOperations, type CommandsPlan } from './file.ts'
import { task, type Resource, type Task } from './resource.ts'

export interface GroupOptions {
  name: string
  gid?: number
  /** A system group (gid from the system range) when created. */
  system?: boolean
  state?: 'present' | 'absent'
}

/** Account names useradd and groupadd accept without --badname. */
export const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/

export function checkAccountName(resource: string, name: unknown): string {
  if (typeof name !== 'string' || !ACCOUNT_NAME.test(name))
    throw argumentError(resource, 'name', `must be an account name like 'postgres' (got ${JSON.stringify(name)})`)
  return name
}

export function checkId(resource: string, argument: string, id: unknown): number | undefined {
  if (id === undefined) return undefined
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= 2 ** 32 - 1) throw argumentError(resource, argument, `must be a non-negative integer (got ${JSON.stringify(id)})`)
  return id
}

export function planGroup(options: { name: string; gid?: number | undefined; system?: boolean | undefined; state: 'present' | 'absent' }, current: GroupAccount | undefined): CommandsPlan {
  const { name, gid } = options
  if (options.state === 'absent')
    return current ? { changed: true, summary: `remove group ${name}`, commands: [sh`groupdel ${name}`] } : { changed: false, summary: 'already absent', commands: [] }
  if (!current) {
    const args = [...(gid !== undefined ? ['-g', String(gid)] : []), ...(options.system ? ['-r'] : [])]
    return { changed: true, summary: `create group ${name}${gid !== undefined ? ` (gid ${gid})` : ''}`, commands: [sh`groupadd ${args} ${name}`] }
  }
  if (gid !== undefined && current.gid !== gid) {
    const command: ShellCommand = sh`groupmod -g ${String(gid)} ${name}`
    return { changed: true, summary: `gid ${current.gid} -> ${gid}`, commands: [command] }
  }
  return { changed: false, summary: `gid ${current.gid}`, commands: [] }
}

export function group(options: GroupOptions): Task {
  const resource = 'group'
  const name = checkAccountName(resource, options.name)
  const gid = checkId(resource, 'gid', options.gid)
  const state = options.state ?? 'present'
  if (state !== 'present' && state !== 'absent') throw argumentError(resource, 'state', "must be 'present' or 'absent'")
  const probe = groupFact(name)
  const res: Resource<CommandsPlan> = {
    title: `group ${name}`,
    facts: () => [probe],
    plan: (facts: FactValues) => withCommandOperations(planGroup({ name, gid, system: options.system, state }, facts.get(probe))),
  }
  return task(res)
}
