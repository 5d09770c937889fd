// What the playbook-level integration tests share: run a playbook body in this
// process with its output captured, and the inventory vars that reach the
// private sshd (test/support/sshd.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'uvu'
import { playbook, type Playbook } from '../../src/playbook.ts'
import { startSshd, type TestSshd } from './sshd.ts'

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

/**
 * The hooks a playbook test file needs: one private sshd for the file, a fresh
 * temp directory (named `prefix…`) for each test, both removed even after a
 * failure. `set` hands the current ones to the file's own variables.
 */
export function sshdAndTempDir<T>(test: Test<T>, prefix: string, set: (now: { sshd: TestSshd; dir: string }) => void): void {
  let sshd: TestSshd | undefined
  let dir = ''
  test.before(async () => {
    sshd = await startSshd()
    set({ sshd, dir })
  })
  test.after(async () => {
    await sshd?.stop()
  })
  test.before.each(() => {
    dir = mkdtempSync(join(tmpdir(), prefix))
    if (sshd) set({ sshd, dir })
  })
  test.after.each(() => {
    rmSync(dir, { recursive: true, force: true })
  })
}
