// `npx tsx lab/install-prerequisites.ts [demo|test]...`: the prerequisites step
// on its own (lab/prerequisites.ts), for .ci/run and for a machine prepared
// ahead of time. Exit 0 when everything is there, 1 when something cannot be.
import { ensurePrerequisites, JOBS, type Job } from './prerequisites.ts'
import { LabError } from './errors.ts'

const jobs = process.argv.slice(2)
let code = 0
for (const job of jobs.length ? jobs : Object.keys(JOBS)) {
  if (!(job in JOBS)) {
    process.stderr.write(`unknown job '${job}': one of ${Object.keys(JOBS).map((j) => `'${j}'`).join(', ')}\n`)
    process.exit(5)
  }
  try {
    const r = await ensurePrerequisites(job as Job, (l) => process.stdout.write(l + '\n'))
    if (r.unmet) {
      process.stderr.write(`ERROR! ${r.unmet.message}\n`)
      code = 1
    }
  } catch (e) {
    process.stderr.write(`ERROR! ${e instanceof LabError ? e.describe() : String(e)}\n`)
    code = 1
  }
}
process.exitCode = code
