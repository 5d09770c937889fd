import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { quote, sh, raw } from '../../src/shell.ts'
import { secret } from '../../src/secrets.ts'

const hostile = ["it's", 'say "hi"', '$(touch /tmp/pwned)', '`id`', 'two\nlines', 'ünïcødé ✓', '-rf', '', ' lead space', 'a\\b', '*', '~root', 'x;y|z&w', "'", "''"]

test('each hostile string survives /bin/sh as exactly one word', () => {
  for (const value of hostile) {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${quote(value)}`]).toString()
    assert.is(out, value + '\0', JSON.stringify(value))
  }
})

test('arrays become several words, raw stays raw', () => {
  const c = sh`printf '%s\\n' ${['a b', 'c']} ${raw('>/dev/null')}`
  assert.is(c.text, "printf '%s\\n' 'a b' c >/dev/null")
})

test('safe words stay unquoted; empty string is a word', () => {
  assert.is(quote('/etc/ssh/sshd_config'), '/etc/ssh/sshd_config')
  assert.is(quote(''), "''")
})

test('secrets interpolate their value and are remembered for masking', () => {
  const c = sh`echo ${secret('hunter22')}`
  assert.is(c.text, 'echo hunter22')
  assert.equal(c.secrets, ['hunter22'])
})

test.run()
