// npm run demo: bring the lab up (building its image the first time) and run
// berth's playbooks on it with inventory/lab.yml, printing each recap. It grows
// as roles arrive. The lab stays up afterwards for a look around.
//
// Progress goes to stdout with the playbooks' own (inherited) output: the lab
// steps draw one updating line on a terminal; a playbook run gets a line
// before and after it, never a spinner over its output.
import { $ } from 'zx'
import { Lab, DEFAULT_INVENTORY } from './lab.ts'
import { Progress, finalSeconds } from './progress.ts'
import { BerthError } from '../src/errors.ts'
import { ensurePrerequisites } from './prerequisites.ts'
import { LabError } from './errors.ts'

import { DEMO_PLAYBOOKS as PLAYBOOKS } from './demo-playbooks.ts'

const t0 = performance.now()
const progress = new Progress(process.stdout)
try {
  // The same prerequisites step as npm test and .ci/run: installs as root on Debian, else says what to run.
  const prerequisites = await ensurePrerequisites('demo', (line) => progress.line(line))
  if (prerequisites.unmet) throw new LabError(prerequisites.unmet.message)

  const lab = Lab.open(DEFAULT_INVENTORY, (line) => progress.line(line), progress)
  const up = await lab.up()
  progress.line(`lab up in ${up.seconds.toFixed(1)} s: started ${up.started.join(', ') || 'none'}; already running ${up.alreadyRunning.join(', ') || 'none'}`)
  let code = 0
  const ran: string[] = []
  for (const [i, [playbook, ...flags]] of PLAYBOOKS.entries()) {
    progress.line('')
    const step = progress.step(`playbook ${i + 1}/${PLAYBOOKS.length}: ./${[playbook, '-i', 'inventory/lab.yml', ...flags].join(' ')}`, { spinner: false })
    // The playbook's own first line starts node with tsx (no npx: about half a second less each).
    const r = await $({ stdio: 'inherit', nothrow: true })`./${playbook} -i ${DEFAULT_INVENTORY} ${flags}`
    const exit = r.exitCode ?? 1
    if (exit === 0) step.done('ok')
    else step.failed(`exit ${r.exitCode ?? r.signal ?? '?'}`)
    ran.push(`${playbook} ${exit === 0 ? 'ok' : 'FAILED'}`)
    code ||= exit
  }
  progress.line(`\ndemo: ${ran.join(', ')}; ${finalSeconds(performance.now() - t0)} in all (lab up ${up.seconds.toFixed(1)} s)`)
  progress.line('The lab is still up: npm run lab -- status | ssh NAME | down')
  process.exitCode = code
} catch (e) {
  process.stderr.write(`ERROR! ${e instanceof BerthError ? e.describe() : String((e as Error).stack ?? e)}\n`)
  process.exitCode = 1
}
