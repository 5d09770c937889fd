// Choose how to reach an inventory host from Ansible's connection variables.
import { userInfo } from 'node:os'
import type { Connection } from './connection.ts'
import { LocalConnection } from './local.ts'
import { SshConnection } from './ssh.ts'
import { resolveSshTarget } from './ssh-options.ts'
import { ConfigError } from '../errors.ts'
import type { Become } from '../host.ts'
import { secret } from '../secrets.ts'

export interface HostTransport {
  connection: Connection
  user: string
  become: Become | undefined
}

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && ['yes', 'true', 'on', '1'].includes(v.toLowerCase()))

export function transportFor(name: string, vars: Record<string, unknown>, sshConfigPath?: string): HostTransport {
  const kind = vars.ansible_connection ?? 'ssh'
  let connection: Connection
  let user: string
  if (kind === 'local') {
    connection = new LocalConnection()
    user = userInfo().username
  } else if (kind === 'ssh' || kind === 'paramiko' || kind === 'smart') {
    const target = resolveSshTarget(name, vars, sshConfigPath ? { sshConfigPath } : undefined)
    connection = new SshConnection(target)
    user = target.user
  } else {
    throw new ConfigError(`host ${name}: ansible_connection '${String(kind)}' is not supported`, { hint: "use 'ssh' (the default) or 'local'" })
  }
  const become = truthy(vars.ansible_become)
    ? {
        user: typeof vars.ansible_become_user === 'string' ? vars.ansible_become_user : 'root',
        password: typeof vars.ansible_become_password === 'string' ? secret(vars.ansible_become_password, 'ansible_become_password') : undefined,
      }
    : undefined
  if (become && vars.ansible_become_method !== undefined && vars.ansible_become_method !== 'sudo')
    throw new ConfigError(`host ${name}: ansible_become_method '${String(vars.ansible_become_method)}' is not supported`, { hint: "berth becomes with 'sudo'" })
  return { connection, user, become }
}
