// Which files of the WAL archive a restore from a base backup needs: every
// timeline history file, and the segments of any timeline from the backup's
// start segment on (a promotion after the backup continues on a new timeline).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { archiveFilesNeeded, targetTimeMs } from '../../../playbooks/drills/postgres.ts'

test('segments from the start on, of every timeline, and every history file; nothing else (backup labels, partial files, strays)', () => {
  const archive = [
    '00000003000000000000000A',
    '000000030000000000000009',
    '00000003000000000000000B',
    '00000004000000000000000B',
    '00000004000000010000000C',
    '00000002.history',
    '00000003.history',
    '00000003000000000000000A.00000028.backup',
    '00000004000000000000000C.partial',
    'README',
  ]
  assert.equal(archiveFilesNeeded(archive, '00000003000000000000000A'), [
    '00000002.history',
    '00000003.history',
    '00000003000000000000000A',
    '00000003000000000000000B',
    '00000004000000000000000B',
    '00000004000000010000000C',
  ])
})

test('a start that is not a segment name is an error, not an empty restore', () => {
  assert.throws(() => archiveFilesNeeded(['00000001000000000000000A'], 'backup_label'), /not a WAL segment name/)
})

test('a recovery target time is read with its offset (microseconds cut to milliseconds); without one it is not a time', () => {
  const at = Date.UTC(2026, 11, 4, 15, 0, 0)
  assert.is(targetTimeMs('2026-12-04 15:00:00+00'), at)
  assert.is(targetTimeMs('2026-12-04 15:00:00Z'), at)
  assert.is(targetTimeMs('2026-12-04T16:30:00+0130'), at)
  assert.is(targetTimeMs('2026-12-04 15:13:17.720585 +00:00'), at + (13 * 60 + 17) * 1000 + 720)
  assert.ok(Number.isNaN(targetTimeMs('2026-12-04 15:00:00')))
  assert.ok(Number.isNaN(targetTimeMs('yesterday')))
})

test.run()
