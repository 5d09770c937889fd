// --check on a fresh host: a task whose state depends on an earlier change that
// the check did not make (a package, a command) is reported as a change "not
// seen yet", never as a failure and never as ok; with no such change, or after
// changes that say what they leave (a file written), it is planned for real.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalConnection } from '../../src/connection/local.ts'
import { Host } from '../../src/host.ts'
import { command, copy, lineInFile, waitFor } from '../../src/resources/index.ts'
import { checkTasks, type TaskRunResult } from '../../src/runner/tasks.ts'
import { sh } from '../../src/shell.ts'

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-unseen-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const host = () => new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
const brief = (rs: TaskRunResult[]) => rs.map((r) => `${r.status}${r.plan?.unseen ? ' (unseen)' : ''}: ${r.error ? r.error.message : (r.plan?.summary ?? '')}`)

test('after a command the check did not run, an edit of the file it would make is a change not seen yet', async () => {
  const conf = join(dir, 'made-by-install.conf')
  const rs = await checkTasks(host(), [command(sh`printf 'a=1\\n' > ${conf}`), lineInFile({ path: conf, line: 'b=2' })])
  assert.equal(brief(rs), ['changed: run: printf \'a=1\\n\' > ' + conf, `changed (unseen): not seen yet: ${conf} does not exist (it depends on earlier changes this --check did not make)`])
  assert.not.ok(existsSync(conf))
})

test('with no change before it, the same edit fails, as the run would', async () => {
  const conf = join(dir, 'missing.conf')
  const rs = await checkTasks(host(), [lineInFile({ path: conf, line: 'b=2' })])
  assert.equal(rs.map((r) => r.status), ['failed'])
})

test('after a foreseen change (a file written), the next task plans on it: an exact plan, not "unseen"', async () => {
  const conf = join(dir, 'written.conf')
  const rs = await checkTasks(host(), [copy({ path: conf, content: 'a=1\n' }), lineInFile({ path: conf, line: 'b=2' })])
  assert.equal(brief(rs), [`changed: create ${conf} (0644)`, 'changed: 1 line changed'])
  assert.equal(rs[1]?.plan?.operations?.map((o) => o.kind === 'write' && o.content.toString()), ['a=1\nb=2\n'])
})

test('a wait after an unmade change is not waited out: it is a change not seen yet', async () => {
  const rs = await checkTasks(host(), [command(sh`true`), waitFor({ command: sh`false` }, { timeoutMs: 60_000 })])
  assert.equal(rs.map((r) => `${r.status}${r.plan?.unseen ? ' (unseen)' : ''}`), ['changed', 'changed (unseen)'])
})

test.run()
