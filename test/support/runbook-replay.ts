// A runbook replayed as an operator replays it: read as markdown (plays, host
// sections, their ```sh blocks), the files it lists copied with plain scp, and
// each host's blocks run with plain ssh and bash, the secrets fed on the
// shell's standard input (never an argument). No berth code runs on the hosts.
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SECRETS_BLOCK_TITLE } from '../../src/report/runbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface Outcome {
  code: number
  stdout: string
  stderr: string
}

export function spawnText(command: string, args: readonly string[], input?: string): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', fail)
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** One host's part of a play: the blocks to paste there, in order. */
export interface Section {
  play: string
  host: string
  /** The `ssh ...` line the runbook gives for it. */
  login: string
  blocks: string[]
}

/** The runbook read as an operator reads it: plays, host sections, and their ```sh blocks (not the `read` block of secrets). */
export function sections(markdown: string): Section[] {
  const out: Section[] = []
  let play = ''
  let current: Section | undefined
  let previous = ''
  let block: string[] | undefined
  for (const line of markdown.split('\n')) {
    if (block) {
      if (line === '```') {
        if (!previous.startsWith(SECRETS_BLOCK_TITLE)) current?.blocks.push(block.join('\n') + '\n')
        block = undefined
      } else block.push(line)
      continue
    }
    const playMatch = /^## Play: (.*)$/.exec(line)
    const hostMatch = /^### (\S+): `(ssh [^`]+)`$/.exec(line)
    if (playMatch) play = playMatch[1] as string
    else if (hostMatch) out.push((current = { play, host: hostMatch[1] as string, login: hostMatch[2] as string, blocks: [] }))
    else if (line === '```sh') {
      block = []
      continue
    }
    if (line.trim() !== '') previous = line
  }
  return out
}

/** The names of the secrets the runbook asks for (its `read` lines: `read -rsp 'NAME: ' NAME`, or up to Ctrl-D for one that spans lines). */
export const secretNames = (markdown: string): string[] => [...new Set([...markdown.matchAll(/read -rs(?:p|d '' -p) '([A-Z0-9_]+)[: ][^']*' \1\b/g)].map((m) => m[1] as string))].sort()

/** The files the runbook says to copy from the controller first: source, where it goes, on which host. */
export function uploadsOf(markdown: string): { source: string; copy: string; host: string }[] {
  const line = markdown.split('\n').find((l) => l.startsWith('- Files copied from the machine berth ran on')) ?? ''
  // The list ends with a full stop, which is not part of the last host's name.
  return [...line.matchAll(/`([^`]+)` to `([^`]+)` on ([A-Za-z0-9_.-]+)/g)].map((m) => ({ source: m[1] as string, copy: m[2] as string, host: (m[3] as string).replace(/\.$/, '') }))
}

/** Plain OpenSSH and scp, as an operator logs in: the lab's key and known_hosts, strict checking. */
export function operatorShell(keyFile: string, knownHosts: string) {
  const options = ['-i', keyFile, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes']
  const ssh = (login: string, remote: string, input: string): Promise<Outcome> => spawnText('ssh', [...options, ...login.replace(/^ssh /, '').split(' '), remote], input)
  return {
    ssh,
    /** scp FILE to PATH on the host of `login` (the directory made first). */
    copy: async (login: string, file: string, path: string): Promise<Outcome> => {
      const made = await ssh(login, `mkdir -p '${dirname(path)}'`, '')
      if (made.code !== 0) return made
      const target = login.replace(/^ssh /, '').split(' ').pop() as string
      return spawnText('scp', [...options, '-q', file, `${target}:${path}`])
    },
    /**
     * Run a section's blocks on its host: they go as a file, and the shell that
     * runs them gets the secrets on its standard input and gives the blocks
     * /dev/null as theirs.
     */
    replay: async (section: Section, variables: Readonly<Record<string, string>>): Promise<Outcome> => {
      const file = `/root/runbook-${section.host}.sh`
      const put = await ssh(section.login, `cat > ${file}`, section.blocks.join(''))
      if (put.code !== 0) return put
      const assignments = Object.entries(variables).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`)
      return ssh(section.login, 'bash -s', ['set -e', ...assignments, `. ${file} < /dev/null`, `rm -f ${file}`, ''].join('\n'))
    },
  }
}

/** Replay every section in order, as an operator would, saying how long each took; the first that fails stops it, with its stderr's end. */
export async function replayAll(operator: ReturnType<typeof operatorShell>, found: readonly Section[], variables: Readonly<Record<string, string>>, log: (line: string) => void): Promise<void> {
  for (const section of found) {
    const started = performance.now()
    const ran = await operator.replay(section, variables)
    log(`[measured] ${section.play} on ${section.host} by hand: ${((performance.now() - started) / 1000).toFixed(1)} s, ${section.blocks.length} blocks`)
    if (ran.code !== 0) throw new Error(`${section.play} on ${section.host}: exit ${ran.code}\n${ran.stderr.slice(-3000)}`)
  }
}
