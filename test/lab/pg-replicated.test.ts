// The PostgreSQL pair on the lab, end to end: playbooks/ha-pg-replicated.ts run
// as an operator runs it (a child process, --json), on fresh db1 and db2, with
// real PostgreSQL 15 from the lab's apt repository; what the roles promise is
// checked with PostgreSQL's own views and clients. Needs root on Linux.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import YAML from 'yaml'
import { fileURLToPath } from 'node:url'
import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { Inventory } from '../../src/inventory/inventory.ts'
import { Redactor, secret } from '../../src/secrets.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { changedTasks, describeRun, errorOf, failures, runLabPlaybook, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-pg-replicated.ts')
const PSQL = '/usr/lib/postgresql/15/bin/psql'

const NAMES = [
  'bad options fail before anything changes: an unknown version (exit 1, no host touched), a data directory that is a file (preflight)',
  '--check on fresh hosts: exit 0 (3 with --detect-drift), what cannot be seen yet is a change, nothing on the hosts changes',
  'first run converges the pair on fresh hosts',
  'restore: real pg_dump files (plain and -Fc) go into empty databases once, owned by Harbor, and never again',
  'replication: the standby streams, is in recovery, gets the rows, refuses writes; WAL reaches the archive',
  "Harbor's user connects to registry from another lab host with its password, and not without it",
  'second run changes nothing, and --check after it finds no drift',
  'drift: hand edits (ALTER SYSTEM, pg_hba.conf, a conf.d file) show in --check, change nothing there, and the next run puts them back',
  'standby safety: two primaries stop the run (split brain, also for hosts --limit leaves out); a stopped former standby on a later timeline needs -e pg_primary; a data directory that became a primary with data is refused; replaceDataDir keeps it beside',
]

/** The playbook as an operator runs it, with --json; every event parsed. */
// The playbook is all of seed 001; these tests bring up the database hosts only, so they play those (or fewer).
const runPlaybook = (...args: string[]): Promise<LabRun> => runLabPlaybook(PLAYBOOK, ...(args.includes('--limit') ? args : ['--limit', 'postgres', ...args]))

const recap = (r: LabRun) => {
  const e = r.events.find((x) => x.kind === 'recap')
  if (!e || e.kind !== 'recap') throw new Error(`no recap (exit ${r.code}); stderr: ${r.stderr.slice(-2000)}`)
  return e.hosts
}
const describe = describeRun

if (!skippedWithoutLab('PostgreSQL', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let inventory: Inventory
  let harborPassword = ''
  const connections: SshConnection[] = []
  const hostsByName = new Map<string, Host>()
  let converged = false

  const host = (name: string): Host => {
    const existing = hostsByName.get(name)
    if (existing) return existing
    const vars = inventory.host(name)?.vars
    if (!vars) throw new Error(`inventory has no host ${name}`)
    const connection = new SshConnection(resolveSshTarget(name, vars))
    connections.push(connection)
    const h = new Host({ name, address: String(vars.ansible_host), vars, connection })
    hostsByName.set(name, h)
    return h
  }
  const address = (name: string): string => String(inventory.host(name)?.vars.ansible_host)
  /** One value from psql as postgres on the host's socket. */
  const query = async (name: string, sql: string, db = 'postgres'): Promise<string> =>
    (await host(name).$`cd / && runuser -u postgres -- ${PSQL} -XAtq -d ${db} -c ${sql}`).stdout.trim()
  /** Poll until `probe` holds; the bound only stops a hang. `what` may be a function, to report the last state seen. */
  const eventually = async (what: string | (() => string), probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!(await probe())) {
      if (Date.now() > deadline) assert.unreachable(`${typeof what === 'function' ? what() : what}: not within ${timeoutMs / 1000} s`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const needConverged = (): void => {
    if (!converged) throw new Error('the first run did not converge (see above); skipping')
  }

  test.before(() =>
    setUpReported(async () => {
      inventory = await Inventory.load([DEFAULT_INVENTORY], { redactor: new Redactor() })
      harborPassword = String(inventory.host('db1')?.vars.pg_harbor_password)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/pg-replicated.test.ts')
      await lab.down()
      const up = await lab.up(['db1', 'db2'])
      console.log(`    lab up db1 db2: ${up.seconds} s`)
    }),
  )

  test.after(() => tearDownLab(lab, connections))

  test(NAMES[0] as string, async () => {
    const version = await runPlaybook('-e', 'pg.version=9')
    assert.is(version.code, 1, describe(version))
    const error = version.events.find((e) => e.kind === 'error')
    assert.ok(error && error.kind === 'error')
    assert.match(error.message, /role pg13-primary: option 'version' must be one of 12, 13, 14, 15, 16, 17, got 9/)
    assert.not.ok(version.events.some((e) => e.kind === 'command' || e.kind === 'file_write' || e.kind === 'host_result'), 'no host was touched')

    const dataDir = await runPlaybook('-e', 'pg.dataDir=/etc/hostname')
    assert.is(dataDir.code, 2, describe(dataDir))
    for (const name of ['db1', 'db2']) {
      assert.is(recap(dataDir)[name]?.changed, 0, `nothing changed on ${name}`)
      assert.is(recap(dataDir)[name]?.failed, 1)
    }
    const failed = failures(dataDir)
    assert.ok(failed.length === 2 && failed.every((f) => /preflight/.test(f) && /option 'dataDir' \(\/etc\/hostname\) is not a directory/.test(f)), failed.join('\n'))
    assert.is.not((await host('db1').$`dpkg-query -W -f '${'${Status}'}' postgresql-15`.nothrow()).stdout, 'install ok installed', 'no package was installed')
  })

  test(NAMES[1] as string, async () => {
    // Everything a role writes or an install leaves, listed with size and time, before and after.
    const listing = async (name: string): Promise<string> =>
      (await host(name).$`find /etc /var/lib /data -xdev -printf '%p %s %T@\n' 2>/dev/null | sort`.nothrow()).stdout
    const before = await Promise.all(['db1', 'db2'].map(listing))
    const check = await runPlaybook('--check')
    assert.is(check.code, 0, describe(check))
    const drift = await runPlaybook('--check', '--detect-drift')
    assert.is(drift.code, 3, describe(drift))
    for (const name of ['db1', 'db2']) {
      const counts = recap(check)[name]
      assert.ok(counts && counts.failed === 0 && counts.changed > 0 && counts.unseen > 0, JSON.stringify(counts))
    }
    const unseen = check.events.flatMap((e) => (e.kind === 'host_result' && e.unseen ? [e.summary ?? ''] : []))
    assert.ok(unseen.every((s) => s.startsWith('not seen yet: ')), unseen.join('\n'))
    assert.equal(await Promise.all(['db1', 'db2'].map(listing)), before, '--check changed nothing under /etc, /var/lib, /data')
  })

  test(NAMES[2] as string, async () => {
    const r = await runPlaybook()
    console.log(`    [measured] first converge on fresh hosts (packages from the lab repository): ${r.seconds.toFixed(1)} s`)
    assert.is(r.code, 0, describe(r))
    assert.ok((recap(r).db1?.changed ?? 0) > 0 && (recap(r).db2?.changed ?? 0) > 0)
    converged = true
  })

  test(NAMES[3] as string, async () => {
    needConverged()
    // Real dumps, made by pg_dump on db1 from a scratch database owned by postgres, fetched to this machine.
    const scratch = mkdtempSync(join(tmpdir(), 'berth-pg-restore-'))
    try {
      await query('db1', 'create database dump_source')
      await query('db1', "create table public.artifact(id serial primary key, digest text not null); insert into artifact(digest) select 'sha256:' || g from generate_series(1, 250) g; create view public.artifact_count as select count(*) from artifact; grant select on artifact to public", 'dump_source')
      await host('db1').$`cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_dump -d dump_source -f /tmp/plain.sql && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_dump -Fc -d dump_source -f /tmp/custom.dump`
      await host('db1').download('/tmp/plain.sql', join(scratch, 'registry.sql'))
      await host('db1').download('/tmp/custom.dump', join(scratch, 'notaryserver.dump'))
      assert.match(readFileSync(join(scratch, 'registry.sql'), 'utf8'), /OWNER TO postgres/, 'the dump names its original owner')
      // Harbor 2.8 still has Notary's databases: the restore goes to registry (plain) and notaryserver (-Fc).
      const pg = YAML.parse(readFileSync(join(ROOT, 'inventory', 'group_vars', 'postgres', 'main.yml'), 'utf8')).pg as Record<string, unknown>
      const vars = join(scratch, 'restore.yml')
      const restore = [{ database: 'registry', file: join(scratch, 'registry.sql') }, { database: 'notaryserver', file: join(scratch, 'notaryserver.dump') }]
      writeFileSync(vars, YAML.stringify({ pg: { ...pg, harborVersion: '2.8', restore } }))

      const first = await runPlaybook('-e', `@${vars}`, '--limit', 'db1')
      assert.is(first.code, 0, describe(first))
      assert.ok(changedTasks(first, 'db1').filter((t) => /restore/.test(t)).length === 2, changedTasks(first, 'db1').join(', '))
      for (const db of ['registry', 'notaryserver']) {
        assert.is(await query('db1', 'select count(*) from artifact', db), '250', `${db} has the rows`)
        assert.is(await query('db1', "select string_agg(tableowner, ',') from pg_tables where schemaname = 'public'", db), 'harbor', `${db}: tables owned by Harbor's user`)
        assert.is(await query('db1', 'select * from artifact_count', db), '250')
      }
      assert.is((await host('db1').$`ls -A /var/lib/postgresql`).stdout.includes('.berth-restore'), false, 'the uploaded dump is removed')

      const again = await runPlaybook('-e', `@${vars}`, '--limit', 'db1')
      assert.is(again.code, 0, describe(again))
      assert.equal(changedTasks(again, 'db1'), [], 'nothing restored over data')
      assert.is(await query('db1', 'select count(*) from artifact', 'registry'), '250', 'no row twice')
      // Back to the inventory's Harbor version: pg_hba.conf names registry alone again; the data stays.
      const back = await runPlaybook('--limit', 'db1')
      assert.is(back.code, 0, describe(back))
      assert.equal(changedTasks(back, 'db1'), ['pg13-primary : pg_hba.conf', 'apply settings to postgresql@15-main'])
      assert.is(await query('db1', 'select count(*) from artifact', 'notaryserver'), '250')
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  })

  test(NAMES[4] as string, async () => {
    needConverged()
    // Right after the first run the standby may still be in `startup` or `catchup`: wait for the state itself.
    const replication = () => query('db1', "select host(client_addr) || ' ' || state || ' ' || application_name from pg_stat_replication")
    let seen = ''
    await eventually(() => `db1 shows db2 streaming (pg_stat_replication last showed ${JSON.stringify(seen)})`, async () => (seen = await replication()) === `${address('db2')} streaming db2`)
    assert.is(await query('db1', "select active from pg_replication_slots where slot_name = 'db2'"), 't', "db2's slot is in use")
    assert.is(await query('db2', 'select pg_is_in_recovery()'), 't')

    const token = `written on the primary at ${Date.now()}`
    await query('db1', `create table if not exists berth_probe(note text); insert into berth_probe values ('${token}')`, 'registry')
    await eventually('the row reaches the standby', async () => (await query('db2', `select count(*) from berth_probe where note = '${token}'`, 'registry').catch(() => '0')) === '1')

    const write = await host('db2').$`cd / && runuser -u postgres -- ${PSQL} -XAtq -d registry -c ${"insert into berth_probe values ('on the standby')"}`.nothrow()
    assert.is.not(write.code, 0)
    assert.match(write.stderr, /read-only transaction/)

    const segment = await query('db1', 'select pg_walfile_name(pg_current_wal_lsn())')
    await query('db1', 'select pg_switch_wal()')
    await eventually(`WAL segment ${segment} is archived`, async () => (await host('db1').$`test -f /data/pgsql/archive/${segment}`.nothrow()).code === 0)
  })

  test(NAMES[5] as string, async () => {
    needConverged()
    const conninfo = `host=${address('db1')} dbname=registry user=harbor connect_timeout=5`
    const ok = await host('db2').$`PGPASSWORD=${secret(harborPassword)} ${PSQL} -XAtq ${conninfo} -c ${'select current_user, current_database()'}`
    assert.is(ok.stdout.trim(), 'harbor|registry')
    const wrong = await host('db2').$`PGPASSWORD=not-the-password ${PSQL} -XAtqw ${conninfo} -c ${'select 1'}`.nothrow()
    assert.is.not(wrong.code, 0)
    assert.match(wrong.stderr, /password authentication failed for user "harbor"/)
  })

  test(NAMES[6] as string, async () => {
    needConverged()
    const again = await runPlaybook()
    console.log(`    [measured] second run (nothing to change): ${again.seconds.toFixed(1)} s`)
    assert.is(again.code, 0, describe(again))
    assert.equal([recap(again).db1?.changed, recap(again).db2?.changed], [0, 0], `changed: ${[...changedTasks(again, 'db1'), ...changedTasks(again, 'db2')].join(', ')}`)
    const check = await runPlaybook('--check', '--detect-drift')
    assert.is(check.code, 0, `--check found drift: ${[...changedTasks(check, 'db1'), ...changedTasks(check, 'db2')].join(', ')}`)
  })

  test(NAMES[7] as string, async () => {
    needConverged()
    const hba = '/etc/postgresql/15/main/pg_hba.conf'
    await query('db1', 'alter system set max_wal_senders = 5')
    await host('db1').$`echo 'host all all 0.0.0.0/0 trust' >> ${hba}`
    await host('db2').$`sed -i 's/^hot_standby_feedback = on$/hot_standby_feedback = off/' /etc/postgresql/15/main/conf.d/60-berth-reload.conf`

    const check = await runPlaybook('--check', '--detect-drift', '--diff')
    assert.is(check.code, 3, describe(check))
    assert.ok(changedTasks(check, 'db1').some((t) => /ALTER SYSTEM/.test(t)), changedTasks(check, 'db1').join(', '))
    assert.ok(changedTasks(check, 'db1').some((t) => /pg_hba\.conf/.test(t)))
    assert.ok(changedTasks(check, 'db2').some((t) => /settings applied by a reload/.test(t)), changedTasks(check, 'db2').join(', '))
    const diff = check.events.find((e) => e.kind === 'host_result' && e.host === 'db1' && /pg_hba/.test(e.task))
    assert.ok(diff && diff.kind === 'host_result' && diff.diff?.includes('-host all all 0.0.0.0/0 trust'), 'the diff shows the line to remove')
    assert.match((await host('db1').$`cat ${hba}`).stdout, /0\.0\.0\.0\/0 trust/, '--check changed nothing')

    const fix = await runPlaybook()
    assert.is(fix.code, 0, describe(fix))
    assert.not.match((await host('db1').$`cat ${hba}`).stdout, /trust/)
    assert.is(await query('db1', 'show max_wal_senders'), '10', 'restarted with the managed value')
    assert.is(await query('db2', 'show hot_standby_feedback'), 'on', 'reloaded with the managed value')
    const after = await runPlaybook('--check', '--detect-drift')
    assert.is(after.code, 0, `still drifting: ${[...changedTasks(after, 'db1'), ...changedTasks(after, 'db2')].join(', ')}`)
    await eventually('db2 streams again', async () => (await query('db1', 'select count(*) from pg_stat_replication where state = \'streaming\'')) === '1')
  })

  test(NAMES[8] as string, async () => {
    needConverged()
    // An operator promotes db2 by hand and writes to it: its data is no longer a copy of db1.
    await query('db2', 'select pg_promote(true, 60)')
    await eventually('db2 is out of recovery', async () => (await query('db2', 'select pg_is_in_recovery()')) === 'f')
    await query('db2', "create table written_after_promotion(note text); insert into written_after_promotion values ('keep me')", 'registry')

    // Two primaries: nothing is converged, whatever --limit leaves out (db1 is asked too).
    const refused = await runPlaybook('--limit', 'db2')
    assert.is(refused.code, 1, describe(refused))
    assert.match(errorOf(refused), /split brain: db1 \(primary, timeline 1, [^)]*\) and db2 \(primary, timeline 2, [^)]*\) both accept writes/, errorOf(refused))
    assert.equal(changedTasks(refused), [])
    assert.is(await query('db2', 'select note from written_after_promotion', 'registry'), 'keep me', 'the data is untouched')
    assert.is(await query('db2', 'select pg_is_in_recovery()'), 'f')

    // The operator keeps db1 and stops db2: db2 is still on a later timeline, so the inventory alone does not decide.
    await host('db2').$`systemctl stop postgresql@15-main`
    const stale = await runPlaybook('--limit', 'db2', '-e', 'pg.replaceDataDir=true')
    assert.is(stale.code, 1, describe(stale))
    assert.match(errorOf(stale), /the inventory says db1 is the PostgreSQL primary, but db2 \(down \(shut down\), timeline 2, [^)]*\) is on a later timeline: it was promoted/, errorOf(stale))
    assert.match(errorOf(stale), /-e pg_primary=db2[\s\S]*-e pg_primary=db1/)

    // Named explicitly, db1 stays the primary; the standby role still refuses db2's data without replaceDataDir.
    const kept1 = await runPlaybook('--limit', 'db2', '-e', 'pg_primary=db1')
    assert.is(kept1.code, 2, describe(kept1))
    assert.match(failures(kept1).join('\n'), /db2: .*will not replace it with a copy of 10\.77\.0\.11:5432[\s\S]*replaceDataDir: true/)

    const replaced = await runPlaybook('--limit', 'db2', '-e', 'pg.replaceDataDir=true', '-e', 'pg_primary=db1')
    assert.is(replaced.code, 0, describe(replaced))
    const kept = (await host('db2').$`ls -d /data/pgsql/data.replaced-*`).stdout.trim().split('\n')
    assert.is(kept.length, 1, 'the old data directory is kept beside')
    assert.is((await host('db2').$`cat ${`${kept[0]}/PG_VERSION`}`).stdout.trim(), '15')
    assert.is(await query('db2', 'select pg_is_in_recovery()'), 't', 'db2 is a standby again')
    await eventually('db2 streams from db1 again', async () => (await query('db1', "select count(*) from pg_stat_replication where state = 'streaming'")) === '1')
    const back = await runPlaybook('--check', '--detect-drift')
    assert.is(back.code, 0, describe(back))
  })
}

test.run()
