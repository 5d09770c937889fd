// sh`` refuses values that are no shell word (issue: `undefined`, `null` or an
// object became the words "undefined", "null", "[object Object]" at run time),
// naming the caller's file:line before anything runs.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { sh } from '../../src/shell.ts'
import { ConfigError } from '../../src/errors.ts'

const refused = (f: () => unknown): ConfigError => {
  try {
    f()
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error('not refused')
}

const cases: [string, unknown, RegExp][] = [
  ['undefined', undefined, /interpolates undefined where a shell word belongs: `systemctl restart \$\{…\}`/],
  ['null', null, /interpolates null/],
  ['a plain object', { name: 'nginx' }, /interpolates an object \(Object\)/],
  ['a Date', new Date(0), /an object \(Date\)/],
  ['an array holding undefined', ['a', undefined], /an array holding undefined/],
  ['a function', () => 'x', /a function/],
  ['NaN', Number.NaN, /interpolates NaN/],
  ['a string holding a NUL byte', 'a\0b', /interpolates a string holding a NUL byte/],
]

for (const [name, value, message] of cases)
  test(`refuses ${name}, naming this file and line`, () => {
    const e = refused(() => sh`systemctl restart ${value as string}`)
    assert.match(e.message, message)
    assert.match(e.where ?? '', /test\/unit\/shell-words\.test\.ts:\d+$/)
  })

test('words still pass: strings, numbers, booleans, arrays, empty strings', () => {
  assert.is(sh`x ${'a b'} ${5} ${true} ${['c', 'd e']} ${''}`.text, "x 'a b' 5 true c 'd e' ''")
})

test.run()
