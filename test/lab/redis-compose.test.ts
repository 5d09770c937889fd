// Redis for Harbor on the lab's storage node, end to end: the Redis tier
// (role mysql-redis-compose) run as an operator runs a playbook, on a fresh
// nfs1 with real Docker and compose from the lab's apt repository. Redis is
// the lab's stand-in image (Debian's redis-server 7.0, loaded from the
// archive the lab keeps; see the README). Checked with redis-cli itself.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../../src/host.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { LabHosts } from '../support/lab-hosts.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { assertConverged, changedTasks, describeRun, runLabPlaybook, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'test', 'fixtures', 'playbooks', 'redis-tier.ts')

const NAMES = [
  'lab stand-in Redis image: first run on a fresh nfs1 installs Docker, loads the image and starts Redis, healthy',
  'redis-cli: the vault password is accepted, a wrong one refused; a key survives a container restart (AOF)',
  'the password is in no process argument on nfs1, and its file is 0600',
  'second run changes nothing; --check --detect-drift exits 0',
  'drift: a hand edit of redis.conf shows in --check (exit 3) and the next run puts it back',
]

const runPlaybook = (...args: string[]): Promise<LabRun> => runLabPlaybook(PLAYBOOK, ...args)
const changed = (r: LabRun): string[] => changedTasks(r)
const describe = describeRun

if (!skippedWithoutLab('Redis', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let nfs1: Host
  let password = ''
  let hosts: LabHosts | undefined
  let converged = false
  const needConverged = (): void => {
    if (!converged) throw new Error('the first run did not converge (see above); skipping')
  }
  /** redis-cli inside the Redis container, against nfs1's own address; the password on its standard input, into REDISCLI_AUTH. */
  const redisCli = async (pw: string, ...args: string[]): Promise<string> =>
    (await nfs1.$`docker exec -i harbor-backing_redis_1 sh -c ${'REDISCLI_AUTH="$(cat)" exec redis-cli -h 10.77.0.10 -p 6379 "$@"'} redis-cli ${args}`.stdin(pw).nothrow()).stdout.trim()

  test.before(() =>
    setUpReported(async () => {
      hosts = await LabHosts.load()
      password = String(hosts.vars('nfs1').redis_password)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/redis-compose.test.ts')
      await lab.down()
      await lab.up(['nfs1'])
      hosts.connect('nfs1')
      nfs1 = hosts.host('nfs1')
    }),
  )
  test.after(() => tearDownLab(lab, hosts?.connections ?? []))

  test(NAMES[0] as string, async () => {
    const first = await runPlaybook()
    assert.is(first.code, 0, describe(first))
    assert.ok(changed(first).some((t) => t.includes('Docker engine and compose')), 'Docker was installed')
    assert.ok(changed(first).some((t) => t.includes('image berth-lab/redis:7.0')), 'the image was loaded')
    const health = await nfs1.$`docker inspect -f '{{.State.Health.Status}}' harbor-backing_redis_1`.nothrow()
    // compose's own health check runs every 10 s; berth waited for PONG itself, so starting is acceptable here.
    assert.match(health.stdout.trim(), /^(healthy|starting)$/)
    converged = true
  })

  test(NAMES[1] as string, async () => {
    needConverged()
    assert.is(await redisCli(password, 'ping'), 'PONG')
    assert.match(await redisCli('not-the-password-at-all', 'ping'), /WRONGPASS|NOAUTH|invalid/i)
    assert.is(await redisCli(password, 'set', 'berth:test', 'kept'), 'OK')
    await nfs1.$`cd /opt/harbor-backing && docker-compose -p harbor-backing restart redis`
    let got = ''
    for (let i = 0; i < 50 && got !== 'kept'; i++) {
      got = await redisCli(password, 'get', 'berth:test')
      if (got !== 'kept') await new Promise((r) => setTimeout(r, 200))
    }
    assert.is(got, 'kept', 'the key survived the restart')
  })

  test(NAMES[2] as string, async () => {
    needConverged()
    // Every process's arguments on nfs1 (the container's included: one pid namespace is a child of the host's); this probe's own sh is left out.
    const args = await nfs1.$`for f in /proc/[0-9]*/cmdline; do [ "$f" = /proc/$$/cmdline ] || tr '\\000' ' ' < "$f" 2>/dev/null; echo; done`.quiet()
    assert.ok(args.stdout.includes('redis-server'), 'redis-server is running')
    assert.not.ok(args.stdout.includes(password), 'the password is in some process argument')
    const mode = (await nfs1.$`stat -c '%a %u' /opt/harbor-backing/redis-auth.conf`).stdout.trim()
    assert.is(mode, '600 999')
    assert.not.ok((await nfs1.$`cat /opt/harbor-backing/redis.conf /opt/harbor-backing/docker-compose.yml`).stdout.includes(password))
  })

  test(NAMES[3] as string, async () => {
    needConverged()
    const { again, check } = await assertConverged(runPlaybook)
    assert.not.ok(check.stdout.includes(password) || again.stdout.includes(password), 'the password is in berth output')
  })

  test(NAMES[4] as string, async () => {
    needConverged()
    await nfs1.$`sed -i 's/^appendonly yes/appendonly no/' /opt/harbor-backing/redis.conf`
    const check = await runPlaybook('--check', '--detect-drift', '--diff')
    assert.is(check.code, 3, describe(check))
    assert.ok(changed(check).some((t) => t.includes('redis.conf')))
    assert.ok(check.stdout.includes('-appendonly no') && check.stdout.includes('+appendonly yes'), 'the diff shows the edit')
    const fix = await runPlaybook()
    assert.is(fix.code, 0, describe(fix))
    assert.match((await nfs1.$`grep '^appendonly' /opt/harbor-backing/redis.conf`).stdout, /appendonly yes/)
    const after = await runPlaybook('--check', '--detect-drift')
    assert.is(after.code, 0, describe(after))
  })
}

test.run()
