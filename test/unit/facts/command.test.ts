import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { exitCodeFact, parseExitCode, parsePathExists, pathExistsFact } from '../../../src/facts/command.ts'
import { sh } from '../../../src/shell.ts'
import { secret } from '../../../src/secrets.ts'

test('exit code: any code is the answer; a cut-short probe is an error', () => {
  assert.is(parseExitCode({ code: 0, stdout: '', stderr: '' }), 0)
  assert.is(parseExitCode({ code: 3, stdout: '', stderr: '' }), 3)
  assert.throws(() => parseExitCode({ code: null, stdout: '', stderr: 'probe output was cut short' }), /cut short/)
})

test('path exists: 0 yes, 1 no, anything else an error', () => {
  assert.is(parsePathExists({ code: 0, stdout: '', stderr: '' }), true)
  assert.is(parsePathExists({ code: 1, stdout: '', stderr: '' }), false)
  assert.throws(() => parsePathExists({ code: 2, stdout: '', stderr: 'sh: 1: [: too many arguments' }))
})

test('exit-code fact: output discarded, secrets kept for masking but out of the key', () => {
  const f = exitCodeFact(sh`psql -c ${'select 1'} ${secret('hunter22')}`)
  assert.is(f.command.text, "{ psql -c 'select 1' hunter22\n} >/dev/null 2>&1")
  assert.equal(f.command.secrets, ['hunter22'])
  assert.not.ok(f.key.includes('hunter22'))
  assert.is(exitCodeFact('true').key, exitCodeFact(sh`true`).key)
})

test('path-exists fact counts dangling links', () => {
  assert.is(pathExistsFact('/etc/x y').command.text, "[ -e '/etc/x y' ] || [ -L '/etc/x y' ]")
})

test.run()
