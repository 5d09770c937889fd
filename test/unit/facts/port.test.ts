import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isListening, parseListeners, parseSocketAddress } from '../../../src/facts/port.ts'

// Captured: ss -Htln (iproute2 6.1) with node servers on 127.0.0.1, ::1, :: (dual stack), 0.0.0.0, 127.0.0.53.
const captured = `LISTEN 0      511       0.0.0.0:19090 0.0.0.0:*
LISTEN 0      511     127.0.0.1:15432 0.0.0.0:*
LISTEN 0      128       0.0.0.0:2024  0.0.0.0:*
LISTEN 0      511    127.0.0.53:15353 0.0.0.0:*
LISTEN 0      511         [::1]:16379    [::]:*
LISTEN 0      511             *:18080       *:*
LISTEN 0      4096   127.0.0.53%lo:53   0.0.0.0:*
LISTEN 0      4096         [::]:22         [::]:*
`

test('parse listeners: brackets and interface scopes removed', () => {
  const l = parseListeners({ code: 0, stdout: captured, stderr: '' })
  assert.equal(l.map((x) => `${x.address}|${x.port}`), [
    '0.0.0.0|19090',
    '127.0.0.1|15432',
    '0.0.0.0|2024',
    '127.0.0.53|15353',
    '::1|16379',
    '*|18080',
    '127.0.0.53|53',
    '::|22',
  ])
  assert.equal(parseSocketAddress('[::ffff:10.0.0.2]:5432'), { address: '::ffff:10.0.0.2', port: 5432 })
  assert.throws(() => parseListeners({ code: 127, stdout: '', stderr: 'sh: 1: ss: not found' }), /ss: not found/)
})

test('which connections would find a listener', () => {
  const l = parseListeners({ code: 0, stdout: captured, stderr: '' })
  const rows: [string, number, boolean][] = [
    ['127.0.0.1', 15432, true],
    ['127.0.0.1', 19090, true], // 0.0.0.0 takes every IPv4 address
    ['10.0.0.2', 15432, false], // bound to loopback only
    ['::1', 19090, false], // an IPv4 wildcard does not take IPv6
    ['::1', 22, true],
    ['127.0.0.1', 22, false], // [::] here is IPv6-only (dual stack shows as *)
    ['127.0.0.1', 18080, true],
    ['::1', 18080, true],
    ['localhost', 16379, true],
    ['127.0.0.1', 16379, false],
    ['127.0.0.1', 5432, false],
  ]
  for (const [host, port, expected] of rows) assert.is(isListening(l, host, port), expected, `${host}:${port}`)
})

test.run()
