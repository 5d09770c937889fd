// `npm test`: the prerequisites step (as root on Debian it installs what the
// tests need; elsewhere it says what is missing), then uvu over every
// test/**/*.test.ts in one process. Test files whose tools are still missing
// skip themselves with the reason (test/support/needs.ts), so the run always
// ends with uvu's summary; when some could not run here, the paragraph that
// says why is printed again after it and the exit code is 1.
//
//   npm test                      everything
//   npm test -- test/unit         one folder
//   npm test -- test 'ssh'        uvu's DIR and PATTERN
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { ensurePrerequisites } from '../lab/prerequisites.ts'
import { BerthError } from '../src/errors.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const say = (line: string): void => {
  process.stdout.write(line + '\n')
}

let unmet: string | undefined
try {
  unmet = (await ensurePrerequisites('test', say)).unmet?.message
} catch (e) {
  // An install that failed is reported, and the tests that can run still run.
  unmet = e instanceof BerthError ? e.describe() : String(e)
}
if (unmet) say(`\nberth: ${unmet}\n`)

const [dir = 'test', pattern = '.*\\.test\\.ts$'] = process.argv.slice(2)
const uvu = spawn(process.execPath, [join(ROOT, 'node_modules', 'uvu', 'bin.js'), '-r', 'tsx', dir, pattern], { cwd: ROOT, stdio: 'inherit' })
uvu.on('error', (e) => {
  process.stderr.write(`ERROR! could not start uvu: ${e.message} (run \`npm ci\` first)\n`)
  process.exitCode = 1
})
uvu.on('close', (code, signal) => {
  if (unmet) say(`\nberth: some tests were skipped. ${unmet}`)
  const failed = code !== 0 || signal !== null
  process.exitCode = failed ? (code ?? 1) || 1 : unmet ? 1 : 0
})
