// What the playbook-level integration tests share: run a playbook body in this
// process with its output captured, and the inventory vars that reach the
// private sshd (test/support/sshd.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { playbook, type Playbook } from '../../src/playbook.ts'
import type { TestSshd } from './sshd.ts'

export interface PlaybookRun {
  code: number
  out: string
  err: string
}

/** Run `body` as a playbook with `argv`; stdout and stderr captured, no process exit code set, no ~/.ssh/config. */
export async function runPlaybook(argv: string[], body: (pb: Playbook) => Promise<void>, name = 'test'): Promise<PlaybookRun> {
  let out = ''
  let err = ''
  const code = await playbook(name, body, { argv, out: (t) => void (out += t), err: (t) => void (err += t), setExitCode: false, sshConfigPath: '/dev/null' })
  return { code, out, err }
}

/** Connection vars for the private sshd: root by key, its own known_hosts. */
export const sshdVars = (sshd: TestSshd) => ({
  ansible_host: '127.0.0.1',
  ansible_port: sshd.port,
  ansible_user: 'root',
  ansible_ssh_private_key_file: sshd.clientKey,
  berth_known_hosts_file: sshd.knownHosts,
})

/** An inventory file in `dir` whose hosts all reach the private sshd. */
export function sshdInventory(dir: string, sshd: TestSshd, hosts: readonly string[]): string {
  const path = join(dir, 'hosts.yml')
  const vars = Object.entries(sshdVars(sshd)).map(([k, v]) => `    ${k}: ${v}\n`).join('')
  writeFileSync(path, `all:\n  vars:\n${vars}  hosts:\n${hosts.map((h) => `    ${h}:\n`).join('')}`)
  return path
}
