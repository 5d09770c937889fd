import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { normalizeSysctlName, parseSysctl, sysctlFact } from '../../../src/facts/sysctl.ts'

test('values: captured multi-value output normalised to single spaces', () => {
  // sysctl -n net.ipv4.ip_local_port_range
  assert.is(parseSysctl({ code: 0, stdout: '32768\t60999\n', stderr: '' }), '32768 60999')
  assert.is(parseSysctl({ code: 0, stdout: '60\n', stderr: '' }), '60')
})

test('unknown parameter: undefined (captured stderr); other failures throw', () => {
  assert.is(parseSysctl({ code: 1, stdout: '', stderr: 'sysctl: cannot stat /proc/sys/kernel/nosuch: No such file or directory\n' }), undefined)
  assert.throws(() => parseSysctl({ code: 127, stdout: '', stderr: 'sh: 1: sysctl: not found' }), /not found/)
})

test('slashes and dots name the same parameter (one fact)', () => {
  assert.is(normalizeSysctlName('net/ipv4/ip_forward'), 'net.ipv4.ip_forward')
  assert.is(sysctlFact('net/ipv4/ip_forward').key, sysctlFact('net.ipv4.ip_forward').key)
})

test.run()
