// Role authors have one supported API: everything a role in roles/ uses from
// the engine comes through src/index.ts, never an engine file of its own.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROLES = fileURLToPath(new URL('../../roles/', import.meta.url))

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

test('no file in roles/ imports an engine file other than src/index.ts', () => {
  const offenders = tsFiles(ROLES).flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/from '((?:\.\.\/)+src\/[^']+)'/g)].filter((m) => !/\/src\/index\.ts$/.test(m[1] as string)).map((m) => `${f.slice(ROLES.length)}: ${m[1]}`),
  )
  assert.equal(offenders, [])
})

test.run()
