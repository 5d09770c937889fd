// The runbook of seed 000 (playbooks/ha-shared-nfs.ts), proven as the one for
// the PostgreSQL pair is: what `--runbook` prints for a real run on fresh
// nfs1, harbor1 and harbor2, replayed by hand on fresh hosts with plain scp,
// ssh and bash (no berth code), gives what berth gives: `--check
// --detect-drift` finds nothing to do, and the lab's stand-in Harbor is healthy
// on both nodes, on nfs1's export, database and Redis.
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
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { operatorShell, replayAll, secretNames, sections, spawnText, uploadsOf, type Outcome } from '../support/runbook-replay.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-shared-nfs.ts')
const HOSTS = ['nfs1', 'harbor1', 'harbor2']
const NODES = { harbor1: '10.77.0.21', harbor2: '10.77.0.22' } as const

const NAMES = [
  'a real run on fresh nfs1, harbor1 and harbor2 writes a runbook that names its secrets and files and holds none of the secrets',
  'the runbook, replayed with plain scp, ssh and bash on fresh hosts, builds the same stack: no drift, the stand-in Harbor healthy on both nodes',
]

const playbook = (...args: string[]): Promise<Outcome> => spawnText(process.execPath, ['--import', 'tsx', PLAYBOOK, '-i', DEFAULT_INVENTORY, ...args])

if (!skippedWithoutLab('seed 000 runbook', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  /** Every vault value the hosts have, by the name a runbook gives it (pg_harbor_password: PG_HARBOR_PASSWORD). */
  const vault = new Map<string, string>()
  let keyFile = ''
  let knownHosts = ''
  const scratch = mkdtempSync(join(tmpdir(), 'berth-nfs-runbook-'))
  const runbookFile = join(scratch, 'ha-shared-nfs.md')
  let markdown = ''

  test.before(() =>
    setUpReported(async () => {
      const inventory = await Inventory.load([DEFAULT_INVENTORY], { redactor: new Redactor() })
      for (const name of HOSTS) {
        const vars = inventory.host(name)?.vars ?? {}
        for (const [k, v] of Object.entries(vars)) if (typeof v === 'string' || typeof v === 'object') vault.set(k.toUpperCase(), String(v))
        keyFile = String(vars.ansible_ssh_private_key_file)
        knownHosts = String(vars.berth_known_hosts_file)
      }
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/shared-nfs-runbook.test.ts')
      await lab.down()
      await lab.up(HOSTS)
    }),
  )
  test.after(() => tearDownLab(lab, [], () => rmSync(scratch, { recursive: true, force: true })))

  test(NAMES[0] as string, async () => {
    const run = await playbook('--runbook', runbookFile)
    assert.is(run.code, 0, run.stdout.slice(-3000) + run.stderr.slice(-2000))
    markdown = readFileSync(runbookFile, 'utf8')
    const names = secretNames(markdown)
    assert.equal(names, ['BACKING_DATABASE_ROOT_PASSWORD', 'HARBOR_ADMIN_PASSWORD', 'HARBOR_CORE_SECRET', 'HARBOR_CSRF_KEY', 'HARBOR_JOBSERVICE_SECRET', 'HARBOR_SCANNER_PREFIX', 'HARBOR_SECRET_KEY', 'HARBOR_TOKEN_PRIVATE_KEY', 'REDIS_PASSWORD'])
    for (const name of names) {
      const value = vault.get(name)
      assert.ok(value, `the vault has ${name}`)
      assert.not.ok(markdown.includes(value), `the value of ${name} is not in the runbook`)
    }
    assert.not.match(markdown, /\*{8}|cannot be run by hand|not planned yet|berth-sensitive/, 'every step can be pasted as it stands')
    // The installer and the image archives come from this machine: the runbook lists them.
    assert.equal(uploadsOf(markdown).map((u) => `${u.host}: ${u.source.split('/').pop()}`).sort(), [
      'harbor1: harbor-offline-installer-v2.11.2.tgz',
      'harbor2: harbor-offline-installer-v2.11.2.tgz',
      'nfs1: databases.tar',
      'nfs1: redis-7.0.tar',
    ])
    const found = sections(markdown)
    assert.equal([...new Set(found.map((s) => s.play))], ['Packages (`nfs:redis:harbor`)', 'NFS storage for Harbor (`nfs`)', 'Redis and the database for Harbor (`redis`)', 'Harbor nodes (`harbor`)'])
    assert.ok(found.every((s) => s.blocks.length > 0), 'every section has blocks')
  })

  test(NAMES[1] as string, async () => {
    assert.ok(markdown.length > 0, 'the first test wrote the runbook')
    await lab.down()
    await lab.up(HOSTS)
    const found = sections(markdown)
    const loginOf = (host: string): string => found.find((s) => s.host === host)?.login as string
    const operator = operatorShell(keyFile, knownHosts)
    for (const u of uploadsOf(markdown)) {
      const copied = await operator.copy(loginOf(u.host), u.source, u.copy)
      assert.is(copied.code, 0, `scp ${u.source} to ${u.host}: ${copied.stderr}`)
    }
    const variables = Object.fromEntries(secretNames(markdown).map((n) => [n, vault.get(n) as string]))
    await replayAll(operator, found, variables, (line) => console.log(`    ${line}`))
    const drift = await playbook('--check', '--detect-drift')
    assert.is(drift.code, 0, `--check --detect-drift after the runbook: ${drift.stdout.slice(-4000)}`)
    for (const address of Object.values(NODES)) {
      const body = (await (await fetch(`http://${address}/api/v2.0/health`, { signal: AbortSignal.timeout(15_000) })).json()) as { status: string }
      assert.is(body.status, 'healthy', `${address}: ${JSON.stringify(body)}`)
    }
  })
}

test.run()
