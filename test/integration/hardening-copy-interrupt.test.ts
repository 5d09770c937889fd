// Issue 10, item 4: a controller killed in the middle of copy() must never leave a
// partial file at a target path. A child process runs a small playbook that copies
// several multi-megabyte files over SSH to a private sshd on 127.0.0.1; the test
// kills it with SIGKILL at a random moment of the copying, waits for the remote
// side to finish whatever it still does, and checks every target: absent or as it
// was before the trial (old), or complete and byte-for-byte the new content.
import { test as uvuTest } from 'uvu'
import { needing } from '../support/needs.ts'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSshd, type TestSshd } from '../support/sshd.ts'

const test = needing('ssh-tests', uvuTest, 'hardening-copy-interrupt.test.ts')

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const FILES = 8
const SIZE = 6 * 1024 * 1024 + 19
const TRIALS = 20

let sshd: TestSshd
let dir = ''
test.before(async () => {
  sshd = await startSshd()
  dir = mkdtempSync(join(tmpdir(), 'berth-interrupt-'))
})
test.after(async () => {
  await sshd?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** The content of file `i` in trial `trial`: a header naming both, then a fill byte; every trial's differs. */
function contentOf(trial: number, i: number): Buffer {
  const b = Buffer.alloc(SIZE, 0x41 + ((trial * 7 + i) % 26))
  b.write(`trial ${trial} file ${i}\n`)
  return b
}

// The controller: a small playbook whose tasks copy FILES files (content built as contentOf does).
const CHILD = `
import { playbook } from ${JSON.stringify(join(ROOT, 'src/playbook.ts'))}
import { copy } from ${JSON.stringify(join(ROOT, 'src/resources/index.ts'))}
const [inv, root, trial] = process.argv.slice(2)
const contentOf = ${contentOf.toString().replace('SIZE', String(SIZE))}
await playbook('interrupt', async (pb) => {
  await pb.play('copy', 'all', () => Array.from({ length: ${FILES} }, (_, i) => copy({ path: root + '/f' + i, content: contentOf(Number(trial), i) })))
}, { argv: ['-i', inv], sshConfigPath: '/dev/null' })
`

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  /** Milliseconds from the first PLAY line to the exit. */
  copyingMs: number
}

/** Run the controller; with `killAfterMs`, SIGKILL it that long after it printed its first PLAY line. */
function runController(script: string, inv: string, root: string, trial: number, killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, inv, root, String(trial)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let playAt: number | undefined
    let timer: NodeJS.Timeout | undefined
    // A hang becomes a failure, not a stuck test run.
    const bound = setTimeout(() => child.kill('SIGKILL'), 120_000)
    const onData = (b: Buffer): void => {
      out += b.toString()
      if (playAt === undefined && /PLAY \[/.test(out)) {
        playAt = performance.now()
        if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(bound)
      if (timer) clearTimeout(timer)
      resolve({ code, signal, out, copyingMs: playAt === undefined ? 0 : performance.now() - playAt })
    })
  })
}

const tempFiles = (root: string): string[] => readdirSync(root).filter((f) => f.startsWith('.berth'))

/** Processes whose command line names `root`: the remote shells still writing files there. */
function writersIn(root: string): number {
  let n = 0
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(root)) n++
    } catch {
      // gone
    }
  }
  return n
}

/** Wait until the remote side is done with the files: no shell writing there, no temp file (bounded). */
async function settle(root: string): Promise<void> {
  const deadline = Date.now() + 10_000
  let quiet = 0
  while (Date.now() < deadline && quiet < 3) {
    await new Promise((r) => setTimeout(r, 40))
    quiet = writersIn(root) === 0 && tempFiles(root).length === 0 ? quiet + 1 : 0
  }
}

/** `trials` SIGKILLs of the controller at random points of the copying, on a host reached with these inventory variables. */
async function killDuringCopies(name: string, hostVars: string, trials: number): Promise<void> {
  const inv = join(dir, `${name}.yml`)
  writeFileSync(inv, `all:\n  hosts:\n    box:\n${hostVars}`)
  const script = join(dir, 'controller.mts')
  writeFileSync(script, CHILD)
  const root = join(dir, name)
  mkdirSync(root)
  // Half the targets exist before the first trial, with small old content.
  const before: (Buffer | undefined)[] = Array.from({ length: FILES }, (_, i) => (i % 2 === 0 ? Buffer.from(`old ${i}\n`) : undefined))
  before.forEach((b, i) => b && writeFileSync(join(root, `f${i}`), b))

  // Trial 0 runs to the end: it must converge, and it says how long the copying takes.
  const calibration = await runController(script, inv, root, 0)
  assert.is(calibration.code, 0, calibration.out)
  for (let i = 0; i < FILES; i++) {
    const content = contentOf(0, i)
    assert.ok(readFileSync(join(root, `f${i}`)).equals(content), `f${i} after a full run`)
    before[i] = content
  }

  const partial: string[] = []
  const leftovers: string[] = []
  let changedSome = 0
  for (let trial = 1; trial <= trials; trial++) {
    const delay = Math.floor(Math.random() * calibration.copyingMs)
    const r = await runController(script, inv, root, trial, delay)
    await settle(root)
    let changed = 0
    for (let i = 0; i < FILES; i++) {
      const path = join(root, `f${i}`)
      const now = existsSync(path) ? readFileSync(path) : undefined
      const next = contentOf(trial, i)
      const old = before[i]
      const isOld = old === undefined ? now === undefined : now !== undefined && now.equals(old)
      const isNew = now !== undefined && now.equals(next)
      if (!isOld && !isNew)
        partial.push(`trial ${trial} (killed ${delay} ms into the play, ${r.signal ?? `exit ${r.code}`}): f${i} is ${now === undefined ? 'absent' : `${now.length} of ${next.length} bytes`}`)
      if (isNew) changed++
      before[i] = now
    }
    if (changed > 0) changedSome++
    leftovers.push(...tempFiles(root).map((f) => `trial ${trial}: ${f}`))
  }
  assert.equal(partial, [], `a target held neither the old nor the complete new content:\n${partial.join('\n')}`)
  assert.equal(leftovers, [], 'temp files left behind')
  // The kills landed in the copying, not all before or after it.
  assert.ok(changedSome > 0, 'no trial copied anything before it was killed')
}

test(`SIGKILL of the controller at random points during large copies over SSH never leaves a partial file at a target (${TRIALS} trials)`, async () => {
  const vars = [
    `      ansible_host: 127.0.0.1`,
    `      ansible_port: ${sshd.port}`,
    `      ansible_user: root`,
    `      ansible_ssh_private_key_file: ${sshd.clientKey}`,
    `      berth_known_hosts_file: ${sshd.knownHosts}`,
  ]
  await killDuringCopies('ssh', vars.join('\n') + '\n', TRIALS)
})

test.run()
