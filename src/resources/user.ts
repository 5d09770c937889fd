// `user`: a local account present (uid, groups, home, shell) or absent, via
// useradd, usermod and userdel: only what differs. An existing user's home is
// never moved (usermod -d without -m), and userdel keeps the home directory.
import { userFact, type UserAccount } from '../facts/users.ts'
import type { FactValues } from '../facts/fact.ts'
import { sh } from '../shell.ts'
import { argumentError, checkAbsolutePath, withCommandOperations, type CommandsPlan } from './file.ts'
import { checkAccountName, checkId } from './group.ts'
import { task, type Resource, type Task } from './resource.ts'

export interface UserOptions {
  name: string
  uid?: number
  /** Primary group: name or numeric gid. */
  group?: string
  /** Supplementary groups. */
  groups?: string[]
  /** Add `groups` to the user's groups instead of making them the exact list. */
  append?: boolean
  home?: string
  shell?: string
  /** A system account (uid from the system range) when created. */
  system?: boolean
  /** Create the home directory when creating the user. Default: true, false for system users. */
  createHome?: boolean
  state?: 'present' | 'absent'
}

export interface CheckedUser {
  name: string
  uid?: number | undefined
  group?: string | undefined
  groups?: string[] | undefined
  append: boolean
  home?: string | undefined
  shell?: string | undefined
  system: boolean
  createHome: boolean
  state: 'present' | 'absent'
}

const sameGroup = (wanted: string, user: UserAccount): boolean => (/^\d+$/.test(wanted) ? Number(wanted) === user.gid : wanted === user.group)

export function planUser(wanted: CheckedUser, current: UserAccount | undefined): CommandsPlan {
  const { name } = wanted
  if (wanted.state === 'absent')
    return current ? { changed: true, summary: `remove user ${name}`, commands: [sh`userdel ${name}`] } : { changed: false, summary: 'already absent', commands: [] }

  const args: string[] = []
  const notes: string[] = []
  const add = (note: string | undefined, ...flags: string[]) => {
    args.push(...flags)
    if (note) notes.push(note)
  }

  if (!current) {
    if (wanted.uid !== undefined) add(`uid ${wanted.uid}`, '-u', String(wanted.uid))
    if (wanted.group !== undefined) add(`group ${wanted.group}`, '-g', wanted.group)
    if (wanted.groups?.length) add(`groups ${wanted.groups.join(',')}`, '-G', wanted.groups.join(','))
    if (wanted.home !== undefined) add(undefined, '-d', wanted.home)
    if (wanted.shell !== undefined) add(undefined, '-s', wanted.shell)
    if (wanted.system) add(undefined, '-r')
    add(undefined, wanted.createHome ? '-m' : '-M')
    return { changed: true, summary: `create user ${name}${notes.length ? ` (${notes.join(', ')})` : ''}`, commands: [sh`useradd ${args} ${name}`] }
  }

  if (wanted.uid !== undefined && wanted.uid !== current.uid) add(`uid ${current.uid} -> ${wanted.uid}`, '-u', String(wanted.uid))
  if (wanted.group !== undefined && !sameGroup(wanted.group, current)) add(`group ${current.group} -> ${wanted.group}`, '-g', wanted.group)
  if (wanted.groups !== undefined) {
    // The primary group is not a supplementary one: listing it changes nothing.
    const primary = wanted.group ?? current.group
    const desired = wanted.groups.filter((g) => g !== primary)
    const missing = desired.filter((g) => !current.groups.includes(g))
    const extra = wanted.append ? [] : current.groups.filter((g) => !desired.includes(g))
    const note = `groups ${[...missing.map((g) => '+' + g), ...extra.map((g) => '-' + g)].join(',')}`
    if (wanted.append && missing.length) add(note, '-a', '-G', missing.join(','))
    else if (!wanted.append && (missing.length || extra.length)) add(note, '-G', desired.join(','))
  }
  if (wanted.home !== undefined && wanted.home !== current.home) add(`home ${current.home} -> ${wanted.home}`, '-d', wanted.home)
  if (wanted.shell !== undefined && wanted.shell !== current.shell) add(`shell ${current.shell} -> ${wanted.shell}`, '-s', wanted.shell)
  if (args.length === 0) return { changed: false, summary: `uid ${current.uid}, group ${current.group}`, commands: [] }
  return { changed: true, summary: notes.join(', '), commands: [sh`usermod ${args} ${name}`] }
}

export function checkUserOptions(options: UserOptions): CheckedUser {
  const resource = 'user'
  const name = checkAccountName(resource, options.name)
  const state = options.state ?? 'present'
  if (state !== 'present' && state !== 'absent') throw argumentError(resource, 'state', "must be 'present' or 'absent'")
  const groupName = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/
  if (options.group !== undefined && (typeof options.group !== 'string' || !groupName.test(options.group)))
    throw argumentError(resource, 'group', `must be a group name or gid (got ${JSON.stringify(options.group)})`)
  if (options.groups !== undefined && (!Array.isArray(options.groups) || options.groups.some((g) => typeof g !== 'string' || !groupName.test(g))))
    throw argumentError(resource, 'groups', 'must be a list of group names')
  const system = options.system ?? false
  return {
    name,
    uid: checkId(resource, 'uid', options.uid),
    group: options.group,
    groups: options.groups ? [...new Set(options.groups)] : undefined,
    append: options.append ?? false,
    home: options.home === undefined ? undefined : checkAbsolutePath(resource, 'home', options.home),
    shell: options.shell === undefined ? undefined : checkAbsolutePath(resource, 'shell', options.shell),
    system,
    createHome: options.createHome ?? !system,
    state,
  }
}

export function user(options: UserOptions): Task {
  const wanted = checkUserOptions(options)
  const probe = userFact(wanted.name)
  const res: Resource<CommandsPlan> = {
    title: `user ${wanted.name}`,
    facts: () => [probe],
    plan: (facts: FactValues) => withCommandOperations(planUser(wanted, facts.get(probe))),
  }
  return task(res)
}
