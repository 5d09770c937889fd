// Which thrown errors are bugs in berth (exit 250, stack printed) and which come
// from a playbook's or role's own code (exit 1, its file:line, stack with -vv).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'
import { describeError, isEngineBug, thrownFrom } from '../../src/report/describe.ts'
import { ConfigError } from '../../src/errors.ts'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')
const withStack = (message: string, frames: string[]): Error => {
  const e = new TypeError(message)
  e.stack = [`TypeError: ${message}`, ...frames.map((f) => `    at ${f}`)].join('\n')
  return e
}

test('an error thrown in src/ is a bug in berth; its stack is kept', () => {
  const e = withStack('x is not a function', [`Playbook.play (${SRC}/playbook.ts:120:7)`, 'main (/srv/playbooks/site.ts:4:3)'])
  assert.ok(isEngineBug(e))
  assert.match(describeError(e), /at Playbook\.play/)
})

test('an error thrown in a playbook is the playbook\'s: file:line and message, stack only with -vv', () => {
  const e = withStack('boom', ['node:internal/whatever (node:internal/x:1:1)', 'Object.readFileSync (node:fs:441:20)', 'file:///srv/playbooks/site.ts:12:9', `Playbook.play (${SRC}/playbook.ts:120:7)`])
  assert.not.ok(isEngineBug(e))
  assert.equal(thrownFrom(e), { file: '/srv/playbooks/site.ts', line: 12 })
  assert.is(describeError(e), "/srv/playbooks/site.ts:12: TypeError: boom\n  (thrown by the playbook's own code; -vv shows the stack)")
  assert.match(describeError(e, 2), /^\/srv\/playbooks\/site\.ts:12: TypeError: boom\nTypeError: boom\n {4}at /)
})

test('a library frame is looked through to the code that called it', () => {
  const e = withStack('bad', ['parse (/srv/node_modules/yaml/dist/index.js:3:3)', 'role (/srv/roles/web/index.ts:30:5)'])
  assert.not.ok(isEngineBug(e))
  assert.equal(thrownFrom(e), { file: '/srv/roles/web/index.ts', line: 30 })
})

test('BerthErrors and non-Errors are never engine bugs', () => {
  assert.not.ok(isEngineBug(new ConfigError('bad option')))
  assert.not.ok(isEngineBug('a thrown string'))
})

test.run()
