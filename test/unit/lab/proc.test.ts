// lab/proc.ts on real processes: a killed process stays in /proc as a zombie
// until its parent reaps it, which is what `lab down` waits for.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { procEntry, stillListed, waitReaped } from '../../../lab/proc.ts'

const linux = process.platform === 'linux'

test('procEntry: state, parent, name and start time, from /proc/PID/stat', () => {
  if (!linux) return console.log('    (skipped: not Linux)')
  const me = procEntry(process.pid)
  assert.ok(me)
  assert.is(me.ppid, process.ppid)
  assert.ok(['R', 'S'].includes(me.state))
  assert.ok(me.startTicks > 0)
  assert.is(stillListed(me)?.pid, process.pid)
  assert.is(stillListed({ pid: process.pid, startTicks: me.startTicks + 1 }), undefined, 'another start time is another process')
})

test('waitReaped: a zombie is still listed; it goes when its parent is gone and it is reaped', async () => {
  if (!linux) return console.log('    (skipped: not Linux)')
  // `sleep 30` inherits a child that exits after the exec and never waits for it: a zombie.
  // (The child must outlive the shell: one that ends first may be reaped by sh before its exec.)
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [chunk] = (await once(parent.stdout, 'data')) as [Buffer]
  const pid = Number(chunk.toString().trim())
  let zombie = procEntry(pid)
  // Bounded against a hang only: on a loaded machine `true` may take a while to run and exit.
  for (let i = 0; i < 500 && zombie?.state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 20))
    zombie = procEntry(pid)
  }
  assert.ok(zombie, `the child ${pid} is listed`)
  assert.is(zombie.state, 'Z', 'dead but not reaped')
  assert.is(zombie.ppid, parent.pid)
  const left = await waitReaped([zombie], 200)
  assert.equal(
    left.map((p) => p.pid),
    [pid],
    'still listed while its parent lives',
  )
  // Its parent dies: the zombie goes to the machine's PID 1 (or a subreaper), which reaps it.
  parent.kill('SIGKILL')
  assert.equal(await waitReaped([zombie], 10_000), [])
})

test.run()
