// The runbook's own test: what `--runbook` prints for ha-pg-replicated, run by
// hand on fresh hosts with plain `ssh` and `bash` (no berth code), gives the
// pair berth gives: `--check --detect-drift` finds nothing to do and db2
// streams from db1. Needs root on Linux (the lab).
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Inventory } from '../../src/inventory/inventory.ts'
import { Redactor } from '../../src/secrets.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { labSkipReason, setUpReported, tearDownLab } from '../support/lab-owner.ts'
import { operatorShell, replayAll, sections, spawnText, type Outcome } from '../support/runbook-replay.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-pg-replicated.ts')
const PSQL = '/usr/lib/postgresql/15/bin/psql'

const NAMES = [
  'a real run on fresh db1 and db2 writes a runbook that names its secrets and holds none of them',
  'the runbook, pasted with plain ssh and bash on fresh db1 and db2, builds the same pair: no drift, db2 streams',
]

// The playbook is all of seed 001; this test brings up the database hosts only.
const playbook = (...args: string[]): Promise<Outcome> => spawnText(process.execPath, ['--import', 'tsx', PLAYBOOK, '-i', DEFAULT_INVENTORY, '--limit', 'postgres', ...args])

if (labSkipReason) {
  console.log(`\n  runbook lab tests skipped: ${labSkipReason}. The lab needs root on Linux.\n`)
  for (const name of NAMES) test.skip(name)
} else {
  let lab: Lab
  let variables: Record<string, string> = {}
  let keyFile = ''
  let knownHosts = ''
  const scratch = mkdtempSync(join(tmpdir(), 'berth-pg-runbook-'))
  const runbookFile = join(scratch, 'ha-pg-replicated.md')
  let markdown = ''

  const ssh = (login: string, remote: string, input: string): Promise<Outcome> => operatorShell(keyFile, knownHosts).ssh(login, remote, input)

  test.before(() =>
    setUpReported(async () => {
      const inventory = await Inventory.load([DEFAULT_INVENTORY], { redactor: new Redactor() })
      const vars = inventory.host('db1')?.vars ?? {}
      // The operator's side: the vault's values, as the runbook names them.
      variables = { PG_REPLICATION_PASSWORD: String(vars.pg_replication_password), PG_HARBOR_PASSWORD: String(vars.pg_harbor_password) }
      keyFile = String(vars.ansible_ssh_private_key_file)
      knownHosts = String(vars.berth_known_hosts_file)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/pg-runbook.test.ts')
      await lab.down()
      await lab.up(['db1', 'db2'])
    }),
  )

  test.after(() => tearDownLab(lab, [], () => rmSync(scratch, { recursive: true, force: true })))

  test(NAMES[0] as string, async () => {
    const run = await playbook('--runbook', runbookFile)
    assert.is(run.code, 0, run.stdout.slice(-3000) + run.stderr.slice(-2000))
    markdown = readFileSync(runbookFile, 'utf8')
    for (const [name, value] of Object.entries(variables)) {
      assert.not.ok(markdown.includes(value), `the value of ${name} is not in the runbook`)
      assert.ok(markdown.includes(`read -rsp '${name}: ' ${name}`), `the runbook asks for ${name}`)
    }
    assert.not.match(markdown, /\*{8}|cannot be run by hand|not planned yet|berth-sensitive/, 'every step can be pasted as it stands')
    const found = sections(markdown)
    assert.equal(
      found.map((s) => `${s.play} / ${s.host}`),
      [
        'Packages (`postgres:redis:harbor`) / db1',
        'Packages (`postgres:redis:harbor`) / db2',
        'PostgreSQL topology (`pg_primary:pg_standby`) / db1',
        'PostgreSQL topology (`pg_primary:pg_standby`) / db2',
        'PostgreSQL primary (`pg_primary`) / db1',
        'PostgreSQL standby (`pg_standby`) / db2',
      ],
    )
    // The topology play only reads (who is primary, before the database roles change anything); every play that changes something has blocks.
    assert.ok(found.filter((s) => !s.play.startsWith('PostgreSQL topology')).every((s) => s.blocks.length > 0), 'every section that changes something has blocks')
  })

  test(NAMES[1] as string, async () => {
    assert.ok(markdown.length > 0, 'the first test wrote the runbook')
    await lab.down()
    await lab.up(['db1', 'db2'])
    await replayAll(operatorShell(keyFile, knownHosts), sections(markdown), variables, (line) => console.log(`    ${line}`))
    const drift = await playbook('--check', '--detect-drift')
    assert.is(drift.code, 0, `--check --detect-drift after the runbook: ${drift.stdout.slice(-4000)}`)
    const login = sections(markdown).find((s) => s.host === 'db1')?.login as string
    const deadline = Date.now() + 30_000
    let state = ''
    while ((state = (await ssh(login, `cd / && runuser -u postgres -- ${PSQL} -XAtq -c "select application_name || ' ' || state from pg_stat_replication"`, '')).stdout.trim()) !== 'db2 streaming') {
      if (Date.now() > deadline) assert.unreachable(`db2 does not stream from db1 (pg_stat_replication: ${JSON.stringify(state)})`)
      await new Promise((r) => setTimeout(r, 250))
    }
  })
}

test.run()
