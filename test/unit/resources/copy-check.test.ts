// Issue 10, item 7: `--check` must not promise what the run cannot do. copy() and
// template() into a directory that does not exist fail, in both modes, as
// Ansible's copy and template do; lineInFile/blockInFile with create: true make
// the missing directories, in both modes, as Ansible's lineinfile does; a directory that an
// earlier task of the same run creates counts as there in --check, so the usual
// "directory, then the file in it" plays still check clean.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalConnection } from '../../../src/connection/local.ts'
import { factValues } from '../../../src/facts/fact.ts'
import { Host } from '../../../src/host.ts'
import { copy, file, lineInFile, template, blockInFile } from '../../../src/resources/index.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { applyTasks, checkTasks, type TaskRunResult } from '../../../src/runner/tasks.ts'

const templatesDir = fileURLToPath(new URL('../../fixtures/templates/', import.meta.url))
const motd = (path: string) => template({ path, src: 'motd.ejs', vars: { hostname: 'h', admins: [], raw: 'r' }, templatesDir })

let dir = ''
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-copy-check-'))
})
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true })
})

const host = () => new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() })
const brief = (rs: TaskRunResult[]) => rs.map((r) => `${r.status}: ${r.error ? r.error.message : (r.plan?.summary ?? '')}`)

/** Plan a content task against facts: the file absent, its directory as given. */
function planWith(t: Task, parent: 'directory' | 'absent' | 'other') {
  const [content, directory] = t.resource.facts()
  assert.ok(content && directory, 'a content task reads its file and its directory')
  return () => t.resource.plan(factValues([[content, { exists: false }], [directory, parent]]))
}

test('plan: a new file in a missing directory fails, naming the directory and what to do', () => {
  for (const t of [copy({ path: '/srv/nowhere/app.conf', content: 'x\n' }), motd('/srv/nowhere/app.conf')])
    assert.throws(planWith(t, 'absent'), (e: Error) =>
      /^cannot create \/srv\/nowhere\/app\.conf: its directory \/srv\/nowhere does not exist/.test(e.message) && /state: 'directory'/.test((e as { hint?: string }).hint ?? ''),
    )
  assert.throws(planWith(copy({ path: '/etc/passwd/x', content: 'x\n' }), 'other'), /its directory \/etc\/passwd is not a directory/)
})

test('plan: a new file in an existing directory is a create; removing a line from a file in a missing directory is nothing to do', () => {
  assert.is(planWith(copy({ path: '/srv/app/app.conf', content: 'x\n' }), 'directory')().summary, 'create /srv/app/app.conf (0644)')
  assert.is(planWith(lineInFile({ path: '/srv/nowhere/x', regexp: /^x=/, state: 'absent' }), 'absent')().summary, 'file does not exist: nothing to do')
  // As Ansible's lineinfile and blockinfile, `create` makes the missing directories too, in both modes.
  for (const t of [lineInFile({ path: '/srv/nowhere/x', line: 'x', create: true }), blockInFile({ path: '/srv/nowhere/x', block: 'b', create: true })]) {
    const plan = planWith(t, 'absent')()
    assert.match(plan.summary ?? '', /^create \/srv\/nowhere\/x \(0644\), and its directory \/srv\/nowhere$/)
    assert.equal(plan.predicts?.[0]?.value, 'directory')
    assert.equal(plan.predicts?.[1]?.fact.key, 'file+content:/srv/nowhere/x', 'and the file as it will be written')
  }
  assert.throws(planWith(lineInFile({ path: '/etc/passwd/x', line: 'x', create: true }), 'other'), /its directory \/etc\/passwd is not a directory/)
})

test('--check and the run agree: copy into a missing directory fails in both, and nothing is created', async () => {
  const path = join(dir, 'missing', 'app.conf')
  const tasks = () => [copy({ path, content: 'x\n' })]
  const checked = await checkTasks(host(), tasks())
  const applied = await applyTasks(host(), tasks())
  assert.equal(brief(checked), brief(applied))
  assert.is(checked[0]?.status, 'failed')
  assert.match(checked[0]?.error?.message ?? '', /cannot create .*missing\/app\.conf: its directory .*missing does not exist/)
  assert.not.ok(existsSync(join(dir, 'missing')))
})

test('--check counts a directory an earlier task creates: directory, copy, template and lineInFile in it all plan a create; the run makes them', async () => {
  const sub = join(dir, 'a', 'b')
  const tasks = () => [
    file({ path: sub, state: 'directory', mode: '0750' }),
    copy({ path: join(sub, 'app.conf'), content: 'x\n' }),
    motd(join(sub, 'motd')),
    lineInFile({ path: join(dir, 'a', 'settings'), line: 'k=v', create: true }),
  ]
  const checked = await checkTasks(host(), tasks())
  assert.equal(
    checked.map((r) => r.status),
    ['changed', 'changed', 'changed', 'changed'],
    brief(checked).join('\n'),
  )
  assert.not.ok(existsSync(join(dir, 'a')), '--check changed nothing')
  const applied = await applyTasks(host(), tasks())
  assert.equal(applied.map((r) => r.status), ['changed', 'changed', 'changed', 'changed'], brief(applied).join('\n'))
  assert.is(readFileSync(join(sub, 'app.conf'), 'utf8'), 'x\n')
  assert.equal(readdirSync(sub).sort(), ['app.conf', 'motd'])
  // Converged: --check has nothing to say.
  assert.equal((await checkTasks(host(), tasks())).map((r) => r.status), ['ok', 'ok', 'ok', 'ok'])
})

test('lineInFile create into a missing directory: --check plans the create and the directory, the run makes both, a file after it checks as create', async () => {
  const settings = join(dir, 'x', 'y', 'settings')
  const tasks = () => [lineInFile({ path: settings, line: 'k=v', create: true }), copy({ path: join(dir, 'x', 'y', 'other'), content: 'o\n' })]
  const checked = await checkTasks(host(), tasks())
  assert.equal(brief(checked), [`changed: create ${settings} (0644), and its directory ${join(dir, 'x', 'y')}`, `changed: create ${join(dir, 'x', 'y', 'other')} (0644)`])
  assert.not.ok(existsSync(join(dir, 'x')), '--check changed nothing')
  const applied = await applyTasks(host(), tasks())
  assert.equal(applied.map((r) => r.status), ['changed', 'changed'], brief(applied).join('\n'))
  assert.is(readFileSync(settings, 'utf8'), 'k=v\n')
})

test('--check after removing the directory (state absent) predicts the failure of a file in it', async () => {
  const sub = join(dir, 'gone')
  await applyTasks(host(), [file({ path: sub, state: 'directory' })])
  const tasks = [file({ path: sub, state: 'absent' }), copy({ path: join(sub, 'x'), content: 'x\n' })]
  const checked = await checkTasks(host(), tasks)
  assert.equal(checked.map((r) => r.status), ['changed', 'failed'], brief(checked).join('\n'))
  assert.ok(existsSync(sub))
})

test.run()
