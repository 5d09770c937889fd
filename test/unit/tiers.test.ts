// Shared playbook pieces have no top-level side effects: importing a tier
// runs no playbook (nothing printed, no exit code set), so one playbook can
// build on another's tier.
import { test } from 'uvu'
import * as assert from 'uvu/assert'

test('importing playbooks/tiers/database.ts runs nothing and gives databaseTier', async () => {
  const write = process.stdout.write
  let printed = ''
  process.stdout.write = ((chunk: string | Uint8Array) => ((printed += String(chunk)), true)) as typeof process.stdout.write
  const exitCode = process.exitCode
  try {
    const tier = await import('../../playbooks/tiers/database.ts')
    assert.type(tier.databaseTier, 'function')
  } finally {
    process.stdout.write = write
  }
  assert.is(printed, '')
  assert.is(process.exitCode, exitCode)
})

test.run()
