// lab/progress.ts on a fake stream and a fake clock: what a terminal gets (one
// line redrawn in place) and what a pipe or CI log gets (plain lines).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Progress, finalSeconds, runningSeconds, type ProgressTimer } from '../../../lab/progress.ts'

/** A stream that records writes, a clock the test moves, and a timer the test fires. */
function fake(opts: { isTTY?: boolean; columns?: number; env?: NodeJS.ProcessEnv } = {}) {
  const writes: string[] = []
  let now = 0
  let tick: (() => void) | undefined
  let running = 0
  const timer: ProgressTimer = {
    every(fn) {
      tick = fn
      running++
      return {
        stop: () => {
          tick = undefined
          running--
        },
      }
    },
  }
  const out = { write: (s: string) => writes.push(s), isTTY: opts.isTTY, columns: opts.columns }
  const progress = new Progress(out, { now: () => now, timer, env: opts.env ?? {} })
  return {
    progress,
    writes,
    text: () => writes.join(''),
    advance(ms: number) {
      now += ms
    },
    fire() {
      tick?.()
    },
    timers: () => running,
  }
}

/** What a terminal shows: apply \r and ESC[K to the written text. */
function screen(raw: string): string[] {
  const lines: string[] = ['']
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string
    if (c === '\n') lines.push('')
    else if (c === '\r') lines[lines.length - 1] = ''
    else if (raw.startsWith('\x1b[K', i)) i += 2 // the cursor is at the line's end here: nothing to erase
    else lines[lines.length - 1] += c
  }
  return lines
}

test('elapsed time: whole seconds while running, tenths when finished', () => {
  assert.is(runningSeconds(4999), '4 s')
  assert.is(finalSeconds(4260), '4.3 s')
  assert.is(finalSeconds(0), '0.0 s')
})

test('plain (not a TTY): a start line and a finish line with the elapsed time', () => {
  const f = fake({ isTTY: false })
  assert.is(f.progress.tty, false)
  const s = f.progress.step('booting 3 hosts')
  s.update('0/3 answer SSH')
  f.advance(1500)
  s.update('2/3 answer SSH')
  f.advance(700)
  assert.is(s.done('3/3 booted and answer SSH'), 2.2)
  assert.is(f.text(), '  ▸ booting 3 hosts\n  ✔ booting 3 hosts: 3/3 booted and answer SSH (2.2 s)\n')
  assert.is(f.timers(), 0, 'no timer without a TTY')
  assert.not.ok(f.text().includes('\r') || f.text().includes('\x1b'), 'no control characters')
})

test('plain: a long step repeats its changed detail every 10 s, not on every update', () => {
  const f = fake()
  const s = f.progress.step('image: downloading')
  f.advance(4000)
  s.update('10 .deb files downloaded')
  f.advance(7000)
  s.update('60 .deb files downloaded')
  s.update('61 .deb files downloaded')
  f.advance(2000)
  s.update('62 .deb files downloaded')
  s.done()
  assert.equal(f.text().split('\n'), [
    '  ▸ image: downloading',
    '  · image: downloading: 60 .deb files downloaded (11 s)',
    '  ✔ image: downloading: 62 .deb files downloaded (13.0 s)',
    '',
  ])
})

test('plain: failed, a task that throws, log lines between steps', async () => {
  const f = fake()
  f.progress.line('lab: raised a limit')
  const s = f.progress.step('bridge berth0')
  f.advance(100)
  s.failed('exists and is not ours')
  s.done('ignored: already ended')
  const thrown = await f.progress
    .task('image: debootstrap', async () => {
      f.advance(2000)
      throw new Error('mirror down')
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  assert.match(String(thrown), /mirror down/, 'the error goes on to the caller')
  const v = await f.progress.task('indexing', async () => 149, (n) => `${n} packages`)
  assert.is(v, 149)
  assert.equal(f.text().split('\n'), [
    'lab: raised a limit',
    '  ▸ bridge berth0',
    '  ✖ bridge berth0: exists and is not ours (0.1 s)',
    '  ▸ image: debootstrap',
    '  ✖ image: debootstrap: failed (2.0 s)',
    '  ▸ indexing',
    '  ✔ indexing: 149 packages (0.0 s)',
    '',
  ])
})

test('TTY: one line redrawn in place with spinner frame, detail and elapsed seconds', () => {
  const f = fake({ isTTY: true, columns: 100 })
  assert.is(f.progress.tty, true)
  const s = f.progress.step('booting 3 hosts')
  assert.is(f.timers(), 1)
  s.update('0/3 answer SSH')
  f.advance(2000)
  f.fire()
  assert.equal(screen(f.text()), ['  ⠙ booting 3 hosts: 0/3 answer SSH (2 s)'])
  f.advance(2100)
  s.update('2/3 answer SSH')
  assert.equal(screen(f.text()), ['  ⠙ booting 3 hosts: 2/3 answer SSH (4 s)'], 'the example of issue 9')
  f.fire()
  assert.equal(screen(f.text()), ['  ⠹ booting 3 hosts: 2/3 answer SSH (4 s)'], 'the frame turns on each tick')
  // Every redraw returns to the line's start and erases it: never a new line while running.
  assert.ok(f.writes.every((w) => w.startsWith('\r\x1b[K')))
  assert.not.ok(f.text().includes('\n'))
  s.done('3/3 booted and answer SSH')
  assert.equal(screen(f.text()), ['  ✔ booting 3 hosts: 3/3 booted and answer SSH (4.1 s)', ''])
  assert.is(f.timers(), 0, 'the timer stops with the last step')
})

test('TTY: a log line moves the spinner below it; the spinner never wraps', () => {
  const f = fake({ isTTY: true, columns: 40 })
  const s = f.progress.step('downloading 17 packages and their dependencies')
  f.progress.line('lab: a message')
  f.advance(3000)
  s.update('57 .deb files downloaded')
  const shown = screen(f.text())
  assert.is(shown[0], 'lab: a message')
  assert.is(shown.length, 2)
  assert.ok((shown[1] as string).length <= 39, `at most columns - 1: ${shown[1]}`)
  assert.ok((shown[1] as string).endsWith('… (3 s)'), `cut before the elapsed time, which stays: ${shown[1]}`)
  s.done()
  assert.equal(screen(f.text()).slice(1), ['  ✔ downloading 17 packages and their dependencies: 57 .deb files downloaded (3.0 s)', ''])
})

test('TTY: a step without spinner (a playbook with its own output) only prints start and end lines', () => {
  const f = fake({ isTTY: true })
  const s = f.progress.step('playbook 1/2: npx tsx playbooks/hello.ts', { spinner: false })
  assert.is(f.timers(), 0)
  assert.is(f.text(), '  ▸ playbook 1/2: npx tsx playbooks/hello.ts\n')
  f.advance(3200)
  s.done('ok')
  assert.is(f.text(), '  ▸ playbook 1/2: npx tsx playbooks/hello.ts\n  ✔ playbook 1/2: npx tsx playbooks/hello.ts: ok (3.2 s)\n')
})

test('CI set: plain lines even on a TTY (as zx turns its spinner off)', () => {
  const f = fake({ isTTY: true, env: { CI: 'true' } })
  assert.is(f.progress.tty, false)
  f.progress.step('x').done()
  assert.is(f.text(), '  ▸ x\n  ✔ x (0.0 s)\n')
})

test('Progress.lines: plain lines through a line logger', () => {
  const got: string[] = []
  const p = Progress.lines((l) => got.push(l))
  p.step('image: indexing').done('149 packages')
  assert.equal(got[0], '  ▸ image: indexing')
  assert.match(got[1] as string, /^  ✔ image: indexing: 149 packages \(\d+\.\d s\)$/)
  assert.is(got.length, 2)
})

test.run()
