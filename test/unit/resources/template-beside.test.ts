// A role finds its templates beside it: template({ src }) without templatesDir
// looks first in the folder of the code that calls it, then in templates/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import type { Task } from '../../../src/resources/resource.ts'

const RESOURCES = fileURLToPath(new URL('../../../src/resources/index.ts', import.meta.url))

test('a template beside the calling module wins; one only under templates/ is found there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-role-'))
  try {
    writeFileSync(join(dir, 'greeting.ejs'), 'hello <%= it.name %>\n')
    writeFileSync(
      join(dir, 'role.ts'),
      `import { template } from ${JSON.stringify(RESOURCES)}\n` +
        `export const beside = () => template({ path: '/etc/greeting', src: 'greeting.ejs', vars: { name: 'berth' } })\n` +
        `export const shared = () => template({ path: '/etc/settings.conf', src: 'postgres/settings.conf.ejs', vars: { role: 'r', purpose: 'p', lines: [] } })\n`,
    )
    const role = (await import(join(dir, 'role.ts'))) as { beside: () => Task; shared: () => Task }
    const content = (t: Task): string => {
      const [probe, parent] = t.resource.facts() as [Fact<unknown>, Fact<unknown>]
      const plan = t.resource.plan(factValues([[probe, { exists: false }], [parent, 'directory']]))
      const op = plan.operations?.[0]
      return op?.kind === 'write' ? op.content.toString() : ''
    }
    assert.is(content(role.beside()), 'hello berth\n')
    assert.match(content(role.shared()), /\S/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
