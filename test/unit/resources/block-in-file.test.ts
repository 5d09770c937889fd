import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues } from '../../../src/facts/fact.ts'
import { blockInFile, editBlock, type EditBlockOptions } from '../../../src/resources/block-in-file.ts'
import type { ContentPlan } from '../../../src/resources/copy.ts'
import { writeOf } from '../../support/plans.ts'

const B = '# BEGIN BERTH MANAGED BLOCK'
const E = '# END BERTH MANAGED BLOCK'

type Row = [string, string, EditBlockOptions, string]
const rows: Row[] = [
  ['insert at end', 'a\n', { block: 'x\ny' }, `a\n${B}\nx\ny\n${E}\n`],
  ['final newline of the block ignored', 'a\n', { block: 'x\n' }, `a\n${B}\nx\n${E}\n`],
  ['empty file', '', { block: 'x' }, `${B}\nx\n${E}\n`],
  ['no trailing newline', 'a', { block: 'x' }, `a\n${B}\nx\n${E}\n`],
  ['replace an existing block, keep the rest', `a\n${B}\nold\n${E}\nz\n`, { block: 'new1\nnew2' }, `a\n${B}\nnew1\nnew2\n${E}\nz\n`],
  ['existing block as wanted', `a\n${B}\nx\n${E}\n`, { block: 'x' }, `a\n${B}\nx\n${E}\n`],
  ['existing block at EOF without newline keeps it so', `a\n${B}\nold\n${E}`, { block: 'new' }, `a\n${B}\nnew\n${E}`],
  ['insertAfter: after the last match', '[a]\n[b]\n[a]\nq\n', { block: 'x', insertAfter: /^\[a\]/ }, `[a]\n[b]\n[a]\n${B}\nx\n${E}\nq\n`],
  ['insertBefore BOF', 'a\n', { block: 'x', insertBefore: 'BOF' }, `${B}\nx\n${E}\na\n`],
  ['insertBefore: before the last match', 'a\nexit 0\n', { block: 'x', insertBefore: /^exit/ }, `a\n${B}\nx\n${E}\nexit 0\n`],
  ['insertion point ignored when the block exists', `${B}\nold\n${E}\nz\n`, { block: 'new', insertBefore: 'BOF' }, `${B}\nnew\n${E}\nz\n`],
  ['absent removes block and markers', `a\n${B}\nx\n${E}\nz\n`, { block: '', state: 'absent' }, 'a\nz\n'],
  ['absent without block: untouched', 'a\n', { block: '', state: 'absent' }, 'a\n'],
  ['empty block removes', `a\n${B}\nx\n${E}\n`, { block: '' }, 'a\n'],
  ['custom marker', 'a\n', { block: 'x', marker: '// {mark} pg', markerBegin: 'start', markerEnd: 'stop' }, 'a\n// start pg\nx\n// stop pg\n'],
  ['two markers: each block its own', `${B}\nx\n${E}\n`, { block: 'y', marker: '# {mark} other' }, `${B}\nx\n${E}\n# BEGIN other\ny\n# END other\n`],
  ['CRLF file: lines added with CRLF', 'a\r\n', { block: 'x' }, `a\r\n${B}\r\nx\r\n${E}\r\n`],
  ['CRLF file: block replaced, other lines untouched', `a\r\n${B}\r\nold\r\n${E}\r\nz\r\n`, { block: 'new' }, `a\r\n${B}\r\nnew\r\n${E}\r\nz\r\n`],
  ['block lines given with CRLF', 'a\n', { block: 'x\r\ny\r\n' }, `a\n${B}\nx\ny\n${E}\n`],
]

for (const [name, before, options, after] of rows)
  test(`editBlock: ${name}`, () => {
    const once = editBlock(before, options)
    assert.is(once, after)
    assert.is(editBlock(once, options), once, 'applying twice is applying once')
  })

test('editBlock: a begin marker without its end, or an orphan end, is an error', () => {
  assert.throws(() => editBlock(`a\n${B}\nx\n`, { block: 'y' }), /line 2 has the marker "# BEGIN BERTH MANAGED BLOCK" but no "# END BERTH MANAGED BLOCK" follows it/)
  assert.throws(() => editBlock(`a\n${E}\n`, { block: 'y' }), /line 2 has the marker "# END/)
})

test('resource: plan from the edit; create', () => {
  const t = blockInFile({ path: '/etc/hosts', block: '10.0.0.2 db1\n10.0.0.3 db2', create: true })
  const plan = t.resource.plan(factValues([[t.resource.facts()[0]!, { exists: false }]])) as ContentPlan
  assert.is(writeOf(plan)?.content.toString(), `${B}\n10.0.0.2 db1\n10.0.0.3 db2\n${E}\n`)
  assert.is(plan.summary, 'create /etc/hosts (0644)')
  assert.is(t.name, 'blockInFile /etc/hosts')
})

test('resource: arguments', () => {
  assert.throws(() => blockInFile({ path: '/x', block: 'a', marker: '# managed' }), /argument 'marker' must be one line containing '\{mark\}'/)
  assert.throws(() => blockInFile({ path: '/x', block: 'a', markerBegin: 'X', markerEnd: 'X' }), /must differ/)
  assert.throws(() => blockInFile({ path: '/x', block: undefined as unknown as string }), /argument 'block'/)
  assert.throws(() => blockInFile({ path: 'x', block: 'a' }), /argument 'path'/)
})

test.run()
