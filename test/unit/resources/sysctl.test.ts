import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import type { FileState } from '../../../src/facts/file.ts'
import { writeFileCommand } from '../../../src/host.ts'
import { editSysctl, sysctl } from '../../../src/resources/sysctl.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'

const fileWith = (text: string): FileState => {
  const content = Buffer.from(text)
  return { exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content }
}
const planOf = (t: Task, ...values: unknown[]) => t.resource.plan(factValues(t.resource.facts().map((f, i) => [f as Fact<unknown>, values[i]])))

const editRows: [string, string, string, string, string][] = [
  ['append', '# berth\n', 'vm.swappiness', '10', '# berth\nvm.swappiness = 10\n'],
  ['empty file', '', 'vm.swappiness', '10', 'vm.swappiness = 10\n'],
  ['no final newline', 'a = 1', 'vm.swappiness', '10', 'a = 1\nvm.swappiness = 10\n'],
  ['same value, other spacing: untouched', 'vm.swappiness=10\n', 'vm.swappiness', '10', 'vm.swappiness=10\n'],
  ['slash spelling counts', 'vm/swappiness = 10\n', 'vm.swappiness', '10', 'vm/swappiness = 10\n'],
  ['the last setting wins and is the one changed', 'vm.swappiness = 1\nx = 2\nvm.swappiness = 5\n', 'vm.swappiness', '10', 'vm.swappiness = 1\nx = 2\nvm.swappiness = 10\n'],
  ['comments are not settings', '# vm.swappiness = 60\n', 'vm.swappiness', '10', '# vm.swappiness = 60\nvm.swappiness = 10\n'],
  ['multi-value normalised', 'net.ipv4.ip_local_port_range = 1024\t65000\n', 'net.ipv4.ip_local_port_range', '1024  65000', 'net.ipv4.ip_local_port_range = 1024\t65000\n'],
  ['ignore-failure prefix', '-kernel.x = 1\n', 'kernel.x', '2', 'kernel.x = 2\n'],
]
for (const [name, before, key, value, after] of editRows)
  test(`editSysctl: ${name}`, () => {
    const once = editSysctl(before, key, value)
    assert.is(once, after)
    assert.is(editSysctl(once, key, value), once)
  })

test('file and live value differ: write the line and sysctl -w, file first', async () => {
  const t = sysctl({ name: 'vm.swappiness', value: 10 })
  const plan = planOf(t, { exists: false }, '60')
  assert.is(plan.summary, '/etc/sysctl.d/99-berth.conf: create /etc/sysctl.d/99-berth.conf (0644); vm.swappiness 60 -> 10')
  assert.equal(operationsOf(plan), [writeFileCommand('/etc/sysctl.d/99-berth.conf', { mode: '0644', replaces: 'absent' }).text, 'sysctl -q -w vm.swappiness=10'])
})

test('file right, live value differs: only sysctl -w', async () => {
  const t = sysctl({ name: 'vm.swappiness', value: '10' })
  const plan = planOf(t, fileWith('vm.swappiness = 10\n'), '60')
  assert.equal([plan.changed, plan.summary], [true, 'vm.swappiness 60 -> 10'])
  assert.equal(operationsOf(plan), ['sysctl -q -w vm.swappiness=10'])
})

test('converged; apply: false ignores the live value', () => {
  assert.is(planOf(sysctl({ name: 'vm.swappiness', value: 10 }), fileWith('vm.swappiness = 10\n'), '10').changed, false)
  const fileOnly = sysctl({ name: 'vm.swappiness', value: 10, apply: false, file: '/etc/sysctl.d/10-pg.conf' })
  assert.is(fileOnly.resource.facts().length, 1)
  assert.is(planOf(fileOnly, fileWith('vm.swappiness = 10\n')).changed, false)
})

test('multi-value live value compares normalised', () => {
  const t = sysctl({ name: 'net.ipv4.ip_local_port_range', value: '1024 65000' })
  assert.is(planOf(t, fileWith('net.ipv4.ip_local_port_range = 1024 65000\n'), '1024 65000').changed, false)
})

test('unknown parameter: a clear error', () => {
  assert.throws(() => planOf(sysctl({ name: 'vm.nosuch', value: 1 }), { exists: false }, undefined), /the kernel has no parameter vm.nosuch/)
})

test('arguments', () => {
  assert.throws(() => sysctl({ name: 'vm swappiness', value: 1 }), /sysctl: argument 'name'/)
  assert.throws(() => sysctl({ name: 'vm.swappiness', value: '1\n2' }), /argument 'value'/)
  assert.throws(() => sysctl({ name: 'vm.swappiness', value: 1, file: 'x.conf' }), /argument 'file'/)
  assert.is(sysctl({ name: 'vm/swappiness', value: 1 }).name, 'sysctl vm.swappiness')
})

test.run()
