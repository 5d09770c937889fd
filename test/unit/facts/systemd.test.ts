import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseSystemctlShow, unitFact } from '../../../src/facts/systemd.ts'

// systemctl show prints KEY=VALUE lines in its own property order (systemctl(1)).
const rows: [string, string, { loadState: string; activeState: string; unitFileState: string }][] = [
  ['running, enabled', 'ActiveState=active\nLoadState=loaded\nUnitFileState=enabled\n', { loadState: 'loaded', activeState: 'active', unitFileState: 'enabled' }],
  ['stopped, disabled', 'LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n', { loadState: 'loaded', activeState: 'inactive', unitFileState: 'disabled' }],
  ['failed, static', 'LoadState=loaded\nActiveState=failed\nUnitFileState=static\n', { loadState: 'loaded', activeState: 'failed', unitFileState: 'static' }],
  ['unknown unit', 'LoadState=not-found\nActiveState=inactive\nUnitFileState=\n', { loadState: 'not-found', activeState: 'inactive', unitFileState: '' }],
  ['masked', 'LoadState=masked\nActiveState=inactive\nUnitFileState=masked\n', { loadState: 'masked', activeState: 'inactive', unitFileState: 'masked' }],
]

for (const [name, stdout, expected] of rows)
  test(`parse: ${name}`, () => {
    assert.equal(parseSystemctlShow({ code: 0, stdout, stderr: '' }), expected)
  })

test('no systemd (as in a container without it as PID 1): a clear error', () => {
  // Captured on this machine.
  const stderr = 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\nFailed to connect to bus: Host is down\n'
  assert.throws(() => parseSystemctlShow({ code: 1, stdout: '', stderr }), /systemctl show failed: System has not been booted/)
})

test('probe', () => {
  assert.is(unitFact('postgresql@15-main').command.text, 'systemctl show -p ActiveState,UnitFileState,LoadState -- postgresql@15-main')
})

test.run()
