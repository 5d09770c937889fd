// Harbor in high availability on the lab (seed 001 whole): playbooks/ha-pg-replicated.ts
// on fresh hosts, Harbor from the LAB'S STAND-IN offline installer (Debian's
// registry, nginx and a small core; see the README) on harbor1 and harbor2,
// sharing one data volume, pointing at the PostgreSQL primary and at Redis on
// nfs1. Checked with real clients: docker login/push/pull from nfs1, HTTP
// from this machine, psql-free facts read on the hosts.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../../src/host.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { LabHosts } from '../support/lab-hosts.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { assertConverged, changedTasks, describeRun, failures, runLabPlaybook, runPlaybookOn, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-pg-replicated.ts')
const RELEASE = '/opt/harbor/v2.11.2'
const NODES = { harbor1: '10.77.0.21', harbor2: '10.77.0.22' } as const

const NAMES = [
  'lab stand-in Harbor: database.host at the standby fails in the preflight, naming it, with no container started',
  'first run converges Harbor on both nodes; /api/v2.0/health says healthy on each, with database, redis and registry',
  'docker login with the vault admin password (a wrong one refused), push through harbor1, pull through harbor2',
  'a session and CSRF token from harbor1 are accepted by harbor2 for a write, read back through harbor1; a forged token is refused',
  'second run changes nothing and prepare does not run (its files untouched); --check --detect-drift exits 0',
  'drift: a hand edit of harbor.yml on harbor2 exits 3 with the diff, secrets masked; the next run puts it back',
  "lab stand-in prepare: refuses a harbor.yml without a key 2.11 requires; run by hand it makes new secrets, and the next run prepares again and pins the group's back",
  'negative control: harbor2 with another CSRF key is refused naming the secret and the hosts; forced, harbor2 rejects harbor1 tokens',
]

const changed = changedTasks
const describe = describeRun

if (!skippedWithoutLab('Harbor', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let hosts: LabHosts | undefined
  const secrets = { admin: '', database: '', redis: '', csrf: '' }
  let converged = false
  const needConverged = (): void => {
    if (!converged) throw new Error('the first run did not converge (see above); skipping')
  }
  const host = (name: string): Host => (hosts as LabHosts).host(name)
  const runPlaybook = (...args: string[]): Promise<LabRun> => runLabPlaybook(PLAYBOOK, ...args)
  /** No secret of the vault in what berth printed. */
  const noSecrets = (r: LabRun): void => {
    for (const [name, value] of Object.entries(secrets)) assert.not.ok(value && (r.stdout.includes(value) || r.stderr.includes(value)), `the ${name} secret is in berth's output`)
  }
  const http = (node: keyof typeof NODES, path: string, init: RequestInit = {}): Promise<Response> => fetch(`http://${NODES[node]}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })
  /** A session on a node: the cookie, and a CSRF token that node issued. */
  const session = async (node: keyof typeof NODES): Promise<{ cookie: string; token: string }> => {
    const login = await http(node, '/c/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ principal: 'admin', password: secrets.admin }).toString() })
    assert.is(login.status, 200, `login on ${node}`)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    assert.match(cookie, /^sid=[0-9a-f]+$/)
    const me = await http(node, '/api/v2.0/users/current', { headers: { Cookie: cookie } })
    assert.equal(await me.json(), { username: 'admin' })
    return { cookie, token: me.headers.get('x-harbor-csrf-token') ?? '' }
  }
  const createProject = (node: keyof typeof NODES, s: { cookie: string; token: string }, name: string): Promise<Response> =>
    http(node, '/api/v2.0/projects', { method: 'POST', headers: { Cookie: s.cookie, 'X-Harbor-Csrf-Token': s.token, 'Content-Type': 'application/json' }, body: JSON.stringify({ project_name: name }) })
  /** What prepare generated on a node: every file's sha256 and mtime. */
  const generated = async (name: string): Promise<string> => (await host(name).$`cd ${RELEASE} && find common/config docker-compose.yml .berth-prepared -type f -printf '%p %T@\n' | sort && find common/config -type f -exec sha256sum {} + | sort`).stdout

  test.before(() =>
    setUpReported(async () => {
      hosts = await LabHosts.load()
      const vars = (name: string) => (hosts as LabHosts).vars(name)
      secrets.admin = String(vars('harbor1').harbor_admin_password)
      secrets.csrf = String(vars('harbor1').harbor_csrf_key)
      secrets.database = String(vars('db1').pg_harbor_password)
      secrets.redis = String(vars('nfs1').redis_password)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/harbor.test.ts')
      await lab.down()
      await lab.up()
      hosts.connect('nfs1', 'db1', 'db2', 'harbor1', 'harbor2')
      // The test's client: nfs1's Docker talks plain HTTP to the Harbor nodes (set before the playbook installs Docker there).
      await host('nfs1').$`mkdir -p /etc/docker && printf '%s\n' ${JSON.stringify({ 'insecure-registries': Object.values(NODES) })} > /etc/docker/daemon.json`
    }),
  )
  test.after(() => tearDownLab(lab, hosts?.connections ?? []))

  test(NAMES[0] as string, async () => {
    const backends = await runPlaybook('--limit', 'postgres:redis')
    assert.is(backends.code, 0, describe(backends))
    const standby = await runPlaybook('-e', 'harbor.database.host=10.77.0.12')
    assert.is(standby.code, 2, describe(standby))
    const failed = failures(standby)
    assert.is(failed.length, 2, failed.join('\n'))
    for (const f of failed) assert.match(f, /database 10\.77\.0\.12:5432 is a writable primary: .*database\.host 10\.77\.0\.12 is a standby \(pg_is_in_recovery\(\) is true\)/)
    for (const name of Object.keys(NODES)) assert.is((await host(name).$`docker ps -aq`).stdout.trim(), '', `no container on ${name}`)
    noSecrets(standby)
  })

  test(NAMES[1] as string, async () => {
    const first = await runPlaybook()
    assert.is(first.code, 0, describe(first))
    for (const name of Object.keys(NODES)) {
      const done = changed(first, name)
      for (const step of ['unpacked in', 'images loaded', 'prepare', 'pin CORE_SECRET', 'Harbor up']) assert.ok(done.some((t) => t.includes(step)), `${name}: ${step} (changed: ${done.join(', ')})`)
    }
    for (const node of Object.keys(NODES) as (keyof typeof NODES)[]) {
      const health = await http(node, '/api/v2.0/health')
      assert.is(health.status, 200)
      const body = (await health.json()) as { status: string; components: { name: string; status: string }[] }
      assert.is(body.status, 'healthy', JSON.stringify(body))
      assert.equal(body.components.map((c) => c.name).sort(), ['core', 'database', 'redis', 'registry'])
      assert.is(await (await http(node, '/api/v2.0/ping')).text(), 'Pong')
    }
    noSecrets(first)
    converged = true
  })

  test(NAMES[2] as string, async () => {
    needConverged()
    const nfs1 = host('nfs1')
    await nfs1.$`tar -C /etc -c hostname os-release | docker import - ${`${NODES.harbor1}/library/berth-test:1`}`
    const wrong = await nfs1.$`docker login -u admin --password-stdin ${NODES.harbor1}`.stdin('not-the-admin-password').nothrow()
    assert.is.not(wrong.code, 0, 'a wrong password is refused')
    await nfs1.$`docker login -u admin --password-stdin ${NODES.harbor1}`.stdin(secrets.admin)
    await nfs1.$`docker push ${`${NODES.harbor1}/library/berth-test:1`}`
    const pushed = (await nfs1.$`docker image inspect -f '{{.Id}}' ${`${NODES.harbor1}/library/berth-test:1`}`).stdout.trim()
    await nfs1.$`docker login -u admin --password-stdin ${NODES.harbor2}`.stdin(secrets.admin)
    await nfs1.$`docker pull ${`${NODES.harbor2}/library/berth-test:1`}`
    assert.is((await nfs1.$`docker image inspect -f '{{.Id}}' ${`${NODES.harbor2}/library/berth-test:1`}`).stdout.trim(), pushed, 'harbor2 serves what was pushed through harbor1')
  })

  test(NAMES[3] as string, async () => {
    needConverged()
    const s = await session('harbor1')
    const made = await createProject('harbor2', s, 'made-on-harbor2')
    assert.is(made.status, 201, await made.text())
    const read = await http('harbor1', '/api/v2.0/projects/made-on-harbor2', { headers: { Cookie: s.cookie } })
    assert.is(read.status, 200)
    assert.is(((await read.json()) as { name: string }).name, 'made-on-harbor2')
    const forged = await createProject('harbor2', { ...s, token: `${'0'.repeat(32)}.${'0'.repeat(64)}` }, 'forged')
    assert.is(forged.status, 403)
  })

  test(NAMES[4] as string, async () => {
    needConverged()
    const before = await generated('harbor1')
    const { again, check } = await assertConverged(runPlaybook)
    assert.is(await generated('harbor1'), before, "prepare's files are untouched")
    noSecrets(again)
    noSecrets(check)
  })

  test(NAMES[5] as string, async () => {
    needConverged()
    await host('harbor2').$`sed -i 's/^    ssl_mode: disable$/    ssl_mode: require/' ${`${RELEASE}/harbor.yml`}`
    const check = await runPlaybook('--check', '--detect-drift', '--diff')
    assert.is(check.code, 3, describe(check))
    assert.equal(changed(check), ['harbor-node : harbor.yml'])
    const diff = check.events.flatMap((e) => (e.kind === 'host_result' && e.host === 'harbor2' && e.diff ? [e.diff] : [])).join('\n')
    // The edit, with the database password in its context: that line masked whole.
    assert.match(diff, /username: "harbor"\n \*+\n-    ssl_mode: require\n\+    ssl_mode: disable\n/, diff)
    noSecrets(check)
    const fix = await runPlaybook()
    assert.is(fix.code, 0, describe(fix))
    assert.equal(changed(fix), ['harbor-node : harbor.yml'], 'only harbor.yml: prepare does not run for a file put back')
    const [one, two] = await Promise.all(Object.keys(NODES).map(async (n) => (await host(n).$`cat ${`${RELEASE}/harbor.yml`}`).stdout))
    assert.is(two, one)
    assert.is((await runPlaybook('--check', '--detect-drift')).code, 0)
  })

  test(NAMES[6] as string, async () => {
    needConverged()
    const h2 = host('harbor2')
    // The stand-in's prepare on a harbor.yml without jobservice.job_loggers (its own input only: nothing else is touched).
    const refused = await h2.$`d=$(mktemp -d) && sed '/job_loggers:/,/- DB/d' ${`${RELEASE}/harbor.yml`} > "$d/harbor.yml" && docker run --rm -v "$d":/input berth-lab/harbor-prepare:v2.11.2 prepare; rc=$?; rm -rf "$d"; exit $rc`.nothrow()
    assert.is.not(refused.code, 0)
    assert.match(refused.stderr, /KeyError: 'job_loggers'/)
    // What install.sh would do: prepare again by hand. New random secrets replace the group's.
    const csrfOf = async (): Promise<string> => (await h2.$`sed -n 's/^CSRF_KEY=//p' ${`${RELEASE}/common/config/core/env`}`).stdout.trim()
    assert.is(await csrfOf(), secrets.csrf)
    await h2.$`cd ${RELEASE} && ./prepare`
    const random = await csrfOf()
    assert.ok(random.length === 32 && random !== secrets.csrf, 'prepare made a new CSRF key')
    const check = await runPlaybook('--check', '--detect-drift')
    assert.is(check.code, 3, describe(check))
    const fix = await runPlaybook()
    assert.is(fix.code, 0, describe(fix))
    const fixed = changed(fix, 'harbor2')
    for (const step of ['prepare', 'pin CORE_SECRET', 'Harbor up']) assert.ok(fixed.some((t) => t.includes(step)), `${step} (changed: ${fixed.join(', ')})`)
    assert.equal(changed(fix, 'harbor1'), [])
    assert.is(await csrfOf(), secrets.csrf)
    assert.is((await createProject('harbor2', await session('harbor1'), 'after-a-hand-prepare')).status, 201)
    noSecrets(check)
    noSecrets(fix)
  })

  test(NAMES[7] as string, async () => {
    needConverged()
    const other = 'd'.repeat(32)
    const scratch = mkdtempSync(join(tmpdir(), 'berth-harbor-inventory-'))
    try {
      cpSync(dirname(DEFAULT_INVENTORY), scratch, { recursive: true })
      mkdirSync(join(scratch, 'host_vars'), { recursive: true })
      writeFileSync(join(scratch, 'host_vars', 'harbor2.yml'), `harbor_csrf_key: ${other}\n`)
      const inventory = join(scratch, 'lab.yml')
      const refused = await runPlaybookOn(inventory, PLAYBOOK)
      assert.is(refused.code, 1, describe(refused))
      const error = refused.events.find((e) => e.kind === 'error')
      assert.ok(error && error.kind === 'error', describe(refused))
      assert.match(error.message, /the nodes of one Harbor disagree:\s+secrets\.csrfKey differs \(values not shown\): harbor1 \| harbor2/)
      assert.not.ok(refused.stdout.includes(other) || refused.stderr.includes(other), 'the differing key is in the output')
      assert.not.ok(refused.events.some((e) => e.kind === 'command' || e.kind === 'file_write' || e.kind === 'host_result'), 'no host was touched')

      const forced = await runPlaybookOn(inventory, PLAYBOOK, '-e', 'harbor_allow_disagreement=true')
      assert.is(forced.code, 0, describe(forced))
      assert.match(forced.stdout, /forced past a disagreement .*secrets\.csrfKey differs/)
      assert.ok(changed(forced, 'harbor2').length > 0 && changed(forced, 'harbor1').length === 0, 'only harbor2 changed')
      const s = await session('harbor1')
      const rejected = await createProject('harbor2', s, 'refused-by-harbor2')
      assert.is(rejected.status, 403, 'harbor2, with its own CSRF key, rejects the token harbor1 signed')
      assert.match(await rejected.text(), /CSRF token invalid/)
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    // The group's own key again: harbor2 accepts harbor1's tokens once more.
    const back = await runPlaybook()
    assert.is(back.code, 0, describe(back))
    assert.is((await createProject('harbor2', await session('harbor1'), 'accepted-again')).status, 201)
  })
}

test.run()
