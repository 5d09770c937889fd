// Accounts from the name service (getent, so LDAP or sssd users count too) and a
// user's groups from `id`. getent exits 2 for an unknown name: that is "absent".
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

export interface UserAccount {
  name: string
  uid: number
  gid: number
  home: string
  shell: string
  /** Name of the primary group. */
  group: string
  /** Supplementary groups (the primary group left out). */
  groups: string[]
}

export interface GroupAccount {
  name: string
  gid: number
  members: string[]
}

function notFoundOrThrow(output: ProbeOutput, what: string): void {
  if (output.code !== 0 && output.code !== 2) throw new Error(output.stderr.trim() || `${what} exited with code ${output.code}`)
}

/** Output: the passwd line, `id -gn`, `id -Gn`; empty when there is no such user. */
export function parseUserProbe(output: ProbeOutput): UserAccount | undefined {
  notFoundOrThrow(output, 'getent passwd')
  if (output.code === 2 || output.stdout.trim() === '') return undefined
  const [passwd = '', primary = '', all = ''] = output.stdout.split('\n')
  const fields = passwd.split(':')
  if (fields.length < 7) throw new Error(`unexpected passwd entry: ${JSON.stringify(passwd)}`)
  const [name = '', , uid = '', gid = '', , home = '', shell = ''] = fields
  const group = primary.trim()
  return {
    name,
    uid: Number(uid),
    gid: Number(gid),
    home,
    shell,
    group,
    groups: all
      .trim()
      .split(/\s+/)
      .filter((g) => g !== '' && g !== group),
  }
}

export function parseGroupProbe(output: ProbeOutput): GroupAccount | undefined {
  notFoundOrThrow(output, 'getent group')
  if (output.code === 2 || output.stdout.trim() === '') return undefined
  const [name = '', , gid = '', members = ''] = output.stdout.trim().split('\n')[0]?.split(':') ?? []
  if (!/^\d+$/.test(gid)) throw new Error(`unexpected group entry: ${JSON.stringify(output.stdout)}`)
  return { name, gid: Number(gid), members: members === '' ? [] : members.split(',') }
}

export function userFact(name: string): Fact<UserAccount | undefined> {
  return fact(
    `user:${name}`,
    sh`getent passwd ${name} && { id -gn ${name}; id -Gn ${name}; }`,
    parseUserProbe,
  )
}

export function groupFact(name: string): Fact<GroupAccount | undefined> {
  return fact(`group:${name}`, sh`getent group ${name}`, parseGroupProbe)
}
