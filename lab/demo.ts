// npm run demo: bring the lab up (building its image the first time) and run
// berth's playbooks on it with inventory/lab.yml, printing each recap. It grows
// as roles arrive. The lab stays up afterwards for a look around.
import { $ } from 'zx'
import { Lab, DEFAULT_INVENTORY } from './lab.ts'
import { BerthError } from '../src/errors.ts'

/** The playbooks the demo runs, in order, against the lab inventory, with their extra flags. */
const PLAYBOOKS: [string, ...string[]][] = [
  ['playbooks/hello.ts'],
  // The lab inventory names its vault password file (lab-only, committed on purpose).
  ['playbooks/ha-pg-replicated.ts'],
]

try {
  const lab = Lab.open(DEFAULT_INVENTORY)
  const up = await lab.up()
  process.stdout.write(`lab up in ${up.seconds.toFixed(1)} s: started ${up.started.join(', ') || 'none'}; already running ${up.alreadyRunning.join(', ') || 'none'}\n`)
  let code = 0
  for (const [playbook, ...flags] of PLAYBOOKS) {
    process.stdout.write(`\n$ npx tsx ${playbook} -i inventory/lab.yml ${flags.join(' ')}\n`)
    const r = await $({ stdio: 'inherit', nothrow: true })`npx tsx ${playbook} -i ${DEFAULT_INVENTORY} ${flags}`
    code ||= r.exitCode ?? 1
  }
  process.stdout.write('\nThe lab is still up: npm run lab -- status | ssh NAME | down\n')
  process.exitCode = code
} catch (e) {
  process.stderr.write(`ERROR! ${e instanceof BerthError ? e.describe() : String((e as Error).stack ?? e)}\n`)
  process.exitCode = 1
}
