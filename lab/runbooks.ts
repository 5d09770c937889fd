// `npm run runbooks [-- PLAYBOOK...]`: the runbook of each demo playbook (or
// those named) as it builds fresh lab hosts, in runbooks/<playbook>.md. A
// runbook of a real run on fresh hosts is complete: every step is there as it
// ran, where one from --check on fresh hosts stops at what it cannot see yet.
// So each playbook gets fresh hosts: the lab is taken down and brought up
// before it, and down at the end. Nothing is committed: the files are for
// review (git diff runbooks/) and for the operators' papers.
import { $ } from 'zx'
import { existsSync, mkdirSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { BerthError } from '../src/errors.ts'
import { DEMO_PLAYBOOKS } from './demo-playbooks.ts'
import { DEFAULT_INVENTORY, Lab } from './lab.ts'
import { LabError } from './errors.ts'
import { ensurePrerequisites } from './prerequisites.ts'
import { Progress } from './progress.ts'

const progress = new Progress(process.stdout)
const named = process.argv.slice(2)
// A name: a demo playbook (with its flags), or any playbook by path or by its name under playbooks/.
const playbooks = named.length === 0 ? DEMO_PLAYBOOKS : named.map((p) => DEMO_PLAYBOOKS.find(([path]) => path === p || basename(path, '.ts') === p) ?? [existsSync(p) ? p : `playbooks/${basename(p, '.ts')}.ts`])
let lab: Lab | undefined
try {
  const prerequisites = await ensurePrerequisites('demo', (line) => progress.line(line))
  if (prerequisites.unmet) throw new LabError(prerequisites.unmet.message)
  lab = Lab.open(DEFAULT_INVENTORY, (line) => progress.line(line), progress)
  await lab.hold('npm run runbooks')
  mkdirSync('runbooks', { recursive: true })
  const written: string[] = []
  for (const [playbook, ...flags] of playbooks) {
    await lab.down()
    await lab.up()
    const out = join('runbooks', `${basename(playbook, '.ts')}.md`)
    const step = progress.step(`./${playbook} -i inventory/lab.yml --runbook ${out} on fresh lab hosts`, { spinner: false })
    const r = await $({ stdio: ['ignore', 'ignore', 'inherit'], nothrow: true })`./${playbook} -i ${relative(process.cwd(), DEFAULT_INVENTORY)} ${flags} --runbook ${out}`
    if (r.exitCode !== 0) {
      step.failed(`exit ${r.exitCode ?? r.signal ?? '?'}: ${out} records what ran up to the failure`)
      process.exitCode = 1
    } else step.done(out)
    written.push(out)
  }
  progress.line(`wrote ${written.join(', ')}; nothing is committed (see: git diff runbooks/)`)
} catch (e) {
  process.stderr.write(`ERROR! ${e instanceof BerthError ? e.describe() : String((e as Error).stack ?? e)}\n`)
  process.exitCode = 1
} finally {
  await lab?.down().catch(() => {})
  await lab?.release()
}
