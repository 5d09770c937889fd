// Harbor on one shared storage node on the lab (seed 000 whole):
// playbooks/ha-shared-nfs.ts on fresh hosts. nfs1 serves Harbor's data volume
// with nfs-ganesha (the lab's kernel has no nfsd) and runs PostgreSQL and Redis
// in one compose project; harbor1 and harbor2 run the LAB'S STAND-IN Harbor
// (see the README). The lab's kernel has no NFS client either, so the lab binds
// the export's own directory into the Harbor hosts at /data, and every NFS
// check here goes over real NFS with libnfs (nfs-ls, nfs-cp) against nfs1. The
// database images are stand-ins too: Debian's PostgreSQL 15, and Debian's
// MariaDB for mysql:5.7.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../../src/host.ts'
import { raw } from '../../src/shell.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { KERNEL_EXPORTS_FILE, renderKernelExports } from '../../roles/nfs-server/exports.ts'
import { EXPORTFS_VALIDATE } from '../../roles/nfs-server/kernel.ts'
import { exportOf } from '../../roles/nfs-server/options.ts'
import { LabHosts } from '../support/lab-hosts.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { assertConverged, changedTasks as changed, describeRun as describe, failures, runLabPlaybook, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-shared-nfs.ts')
const NODES = { harbor1: '10.77.0.21', harbor2: '10.77.0.22' } as const
const EXPORT = '/srv/nfs/harbor'
/** libnfs's URL for a path in the export, as uid/gid `id` (AUTH_SYS, as a kernel client sends them). */
const nfsUrl = (path: string, id = 10000): string => `nfs://10.77.0.10${EXPORT}${path}?version=4&uid=${id}&gid=${id}`

const NAMES = [
  'first run converges: ganesha serves the export, PostgreSQL and Redis run in compose on nfs1, the lab stand-in Harbor is healthy on both nodes',
  "docker push through harbor1, pull through harbor2; the pushed blob is in nfs1's export, listed over NFS from harbor2 as uid 10000, owned by 10000",
  'a file written over NFS by harbor1 as uid 10000 is read over NFS by harbor2; root from a client is squashed to 10000',
  'second run changes nothing; --check --detect-drift exits 0; an edited export exits 3 and the next run puts it back, served',
  "ganesha: a client it cannot resolve makes the role fail naming it from ganesha's log; the last good export is served again",
  'MySQL variant (lab stand-in MariaDB for mysql:5.7): the dump is imported once, its tables are there, the root password is on no command line',
  "kernel backend (this kernel has no nfsd): exportfs parses berth's rendered exports on a lab host; a broken option is refused with file:line, the old file kept",
]

if (!skippedWithoutLab('shared NFS', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let hosts: LabHosts | undefined
  const secrets = { admin: '', database: '', redis: '' }
  let converged = false
  const needConverged = (): void => {
    if (!converged) throw new Error('the first run did not converge (see above); skipping')
  }
  const host = (name: string): Host => (hosts as LabHosts).host(name)
  const runPlaybook = (...args: string[]): Promise<LabRun> => runLabPlaybook(PLAYBOOK, ...args)
  const noSecrets = (r: LabRun): void => {
    for (const [name, value] of Object.entries(secrets)) assert.not.ok(value && (r.stdout.includes(value) || r.stderr.includes(value)), `the ${name} secret is in berth's output`)
  }
  const health = async (node: keyof typeof NODES): Promise<{ status: string; components: { name: string; status: string }[] }> =>
    (await (await fetch(`http://${NODES[node]}/api/v2.0/health`, { signal: AbortSignal.timeout(15_000) })).json()) as { status: string; components: { name: string; status: string }[] }

  test.before(() =>
    setUpReported(async () => {
      hosts = await LabHosts.load()
      secrets.admin = String(hosts.vars('harbor1').harbor_admin_password)
      secrets.database = String(hosts.vars('nfs1').backing_database_root_password)
      secrets.redis = String(hosts.vars('nfs1').redis_password)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/shared-nfs.test.ts')
      await lab.down()
      await lab.up(['nfs1', 'harbor1', 'harbor2'])
      hosts.connect('nfs1', 'harbor1', 'harbor2')
      // The test's tools: nfs1's Docker talks plain HTTP to the Harbor nodes; the Harbor hosts get libnfs, an NFS client that needs no kernel.
      await host('nfs1').$`mkdir -p /etc/docker && printf '%s\n' ${JSON.stringify({ 'insecure-registries': Object.values(NODES) })} > /etc/docker/daemon.json`
      for (const name of Object.keys(NODES)) await host(name).$`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnfs-utils >/dev/null`
    }),
  )
  test.after(() => tearDownLab(lab, hosts?.connections ?? []))

  test(NAMES[0] as string, async () => {
    const first = await runPlaybook()
    assert.is(first.code, 0, describe(first))
    const nfs1 = changed(first, 'nfs1')
    for (const step of ['nfs-ganesha serves the written exports', 'compose project harbor-backing up', 'databases registry']) assert.ok(nfs1.some((t) => t.includes(step)), `nfs1: ${step} (changed: ${nfs1.join(', ')})`)
    // The backend was chosen on the host, and the kernel's tasks were skipped, saying why.
    const decided = first.events.find((e) => e.kind === 'host_result' && e.host === 'nfs1' && e.task === 'nfs-server : NFS server backend')
    assert.ok(decided && decided.kind === 'host_result' && /ganesha \(auto: this kernel has no nfsd\)/.test(decided.summary ?? ''), JSON.stringify(decided))
    for (const node of Object.keys(NODES) as (keyof typeof NODES)[]) {
      const body = await health(node)
      assert.is(body.status, 'healthy', JSON.stringify(body))
      assert.equal(body.components.map((c) => c.name).sort(), ['core', 'database', 'redis', 'registry'])
    }
    // Harbor's database is nfs1's PostgreSQL: its schema is there.
    const tables = await host('nfs1').$`c=$(docker ps -q --filter label=com.docker.compose.service=postgres) && docker exec "$c" psql -U postgres -d registry -XAtc "select count(*) from pg_tables where schemaname = 'public'"`
    assert.ok(Number(tables.stdout.trim()) > 0, `tables in registry: ${tables.stdout}`)
    noSecrets(first)
    converged = true
  })

  test(NAMES[1] as string, async () => {
    needConverged()
    const nfs1 = host('nfs1')
    const image = (node: keyof typeof NODES): string => `${NODES[node]}/library/shared-nfs:1`
    await nfs1.$`tar -C /etc -c hostname os-release | docker import - ${image('harbor1')}`
    await nfs1.$`docker login -u admin --password-stdin ${NODES.harbor1}`.stdin(secrets.admin)
    await nfs1.$`docker push ${image('harbor1')}`
    const layer = (await nfs1.$`docker image inspect -f '{{index .RootFS.Layers 0}}' ${image('harbor1')}`).stdout.trim()
    await nfs1.$`docker login -u admin --password-stdin ${NODES.harbor2}`.stdin(secrets.admin)
    await nfs1.$`docker rmi ${image('harbor1')}`
    await nfs1.$`docker pull ${image('harbor2')}`
    assert.is((await nfs1.$`docker image inspect -f '{{index .RootFS.Layers 0}}' ${image('harbor2')}`).stdout.trim(), layer, 'harbor2 serves what was pushed through harbor1')
    // The manifest names the compressed blob; find it in the registry's storage, over NFS from harbor2.
    const manifest = JSON.parse((await nfs1.$`curl -sf -u ${`admin:${secrets.admin}`} -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' ${`http://${NODES.harbor2}/v2/library/shared-nfs/manifests/1`}`.quiet()).stdout) as { layers: { digest: string }[] }
    const digest = manifest.layers[0]?.digest.replace(/^sha256:/, '') ?? ''
    assert.match(digest, /^[0-9a-f]{64}$/)
    const blobDir = `/registry/docker/registry/v2/blobs/sha256/${digest.slice(0, 2)}/${digest}`
    const listed = await host('harbor2').$`nfs-ls ${nfsUrl(blobDir)}`
    assert.match(listed.stdout, /^-[rwx-]{9}\s+\d+\s+10000\s+10000\s+\d+\s+data$/m, listed.stdout)
    const blob = await host('harbor2').$`nfs-cat ${nfsUrl(`${blobDir}/data`)} | sha256sum`
    assert.is(blob.stdout.split(' ')[0], digest, 'the blob read over NFS is the one pushed')
  })

  test(NAMES[2] as string, async () => {
    needConverged()
    const stamp = `written by harbor1 over NFS ${Date.now()}`
    await host('harbor1').$`printf '%s\n' ${stamp} > /tmp/nfs-probe && nfs-cp /tmp/nfs-probe ${nfsUrl('/nfs-probe')}`
    assert.is((await host('harbor2').$`nfs-cat ${nfsUrl('/nfs-probe')}`).stdout.trim(), stamp)
    // Root (uid 0) from a client: the export squashes every user to 10000.
    await host('harbor2').$`printf 'root was here\n' > /tmp/root-probe && nfs-cp /tmp/root-probe ${nfsUrl('/root-probe', 0)}`
    const owners = (await host('nfs1').$`stat -c '%n %u %g' ${`${EXPORT}/nfs-probe`} ${`${EXPORT}/root-probe`}`).stdout.trim().split('\n')
    assert.equal(owners, [`${EXPORT}/nfs-probe 10000 10000`, `${EXPORT}/root-probe 10000 10000`])
    await host('nfs1').$`rm -f ${`${EXPORT}/nfs-probe`} ${`${EXPORT}/root-probe`}`
  })

  test(NAMES[3] as string, async () => {
    needConverged()
    const { again } = await assertConverged(runPlaybook)
    // A hand edit of the export: another client let in.
    await host('nfs1').$`sed -i 's/Clients = 10.77.0.21, 10.77.0.22;/Clients = 10.77.0.21, 10.77.0.22, 10.77.0.99;/' /etc/ganesha/berth-exports.conf`
    const drift = await runPlaybook('--check', '--detect-drift', '--diff')
    assert.is(drift.code, 3, describe(drift))
    assert.ok(changed(drift, 'nfs1').includes('nfs-server : /etc/ganesha/berth-exports.conf'), changed(drift).join(', '))
    const fix = await runPlaybook()
    assert.is(fix.code, 0, describe(fix))
    assert.equal(changed(fix), ['nfs-server : /etc/ganesha/berth-exports.conf', 'nfs-server : nfs-ganesha serves the written exports'])
    assert.is((await runPlaybook('--check', '--detect-drift')).code, 0)
    noSecrets(again)
    noSecrets(fix)
  })

  test(NAMES[4] as string, async () => {
    needConverged()
    const broken = await runPlaybook('--limit', 'nfs', '-e', JSON.stringify({ nfs_exports: [{ path: EXPORT, clients: ['10.77.0.21', '10.77.0.22', 'no-such-host.invalid'] }] }))
    assert.is(broken.code, 2, describe(broken))
    const [failure = ''] = failures(broken)
    assert.match(failure, /nfs-server : nfs-ganesha serves the written exports/)
    assert.match(failure, /Client \(no-such-host\.invalid\) not found/)
    assert.match(failure, /the last good configuration is back in place and served/)
    // Still served to the Harbor nodes, and the next plain run has nothing to do.
    assert.ok((await host('harbor1').$`nfs-ls ${nfsUrl('/')}`).stdout.includes('registry'))
    const after = await runPlaybook()
    assert.is(after.code, 0, describe(after))
    assert.equal(changed(after), [])
  })

  test(NAMES[5] as string, async () => {
    needConverged()
    const mysql = ['--limit', 'nfs', '-e', 'backing_database_engine=mysql']
    // Without --limit the playbook refuses: Harbor 2.x needs PostgreSQL.
    const refused = await runPlaybook('-e', 'backing_database_engine=mysql')
    assert.is(refused.code, 1, describe(refused))
    assert.match(refused.stdout + refused.stderr, /Harbor 1\.6 and later \(and so harbor-node\) store their data only in PostgreSQL/)
    const first = await runPlaybook(...mysql)
    assert.is(first.code, 0, describe(first))
    assert.ok(changed(first, 'nfs1').some((t) => t.includes('import /var/cache/berth-lab/artifacts/harbor-1.5-registry.sql into registry once')), changed(first).join(', '))
    const nfs1 = host('nfs1')
    const inMysql = (sql: string) => nfs1.$`c=$(docker ps -q --filter label=com.docker.compose.service=mysql) && docker exec "$c" sh -c ${`MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -N -B -e "${sql}"`}`
    assert.equal((await inMysql('SHOW TABLES FROM registry')).stdout.trim().split('\n').sort(), ['alembic_version', 'project', 'repository', 'user'])
    assert.is((await inMysql('SELECT name FROM registry.repository ORDER BY repository_id')).stdout.trim(), 'library/nginx\nlibrary/redis\nops/backup-agent')
    assert.is((await inMysql("SHOW VARIABLES LIKE 'character_set_server'")).stdout.trim().split(/\s+/)[1], 'utf8mb3', 'utf8, as the seed asks (MariaDB names it utf8mb3)')
    // A row changed after the import survives the next run: nothing is imported again.
    await inMysql("UPDATE registry.project SET name = 'ops-renamed' WHERE project_id = 2")
    const again = await runPlaybook(...mysql)
    assert.is(again.code, 0, describe(again))
    assert.equal(changed(again), [])
    assert.is((await inMysql('SELECT name FROM registry.project WHERE project_id = 2')).stdout.trim(), 'ops-renamed')
    // Its only place on the host: the env file compose reads, 0600.
    assert.is((await nfs1.$`stat -c '%a %U' /opt/harbor-backing/database.env`).stdout.trim(), '600 root')
    // The root password is in no process's command line on nfs1 (the host's and the containers' processes alike).
    const cmdlines = (await nfs1.$`for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < "$f" 2>/dev/null; echo; done`.quiet()).stdout
    assert.ok(cmdlines.includes('mariadbd'), 'the server is among the processes read')
    assert.not.ok(cmdlines.includes(secrets.database), 'the root password is on a command line')
    noSecrets(first)
    noSecrets(again)
  })

  test(NAMES[6] as string, async () => {
    const h = host('harbor2')
    await h.$`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nfs-kernel-server >/dev/null 2>&1; mkdir -p /etc/exports.d /srv/nfs/harbor /srv/nfs/ro`
    const good = renderKernelExports([exportOf({ path: '/srv/nfs/harbor', clients: ['10.77.0.21', '10.77.0.0/24'] }), exportOf({ path: '/srv/nfs/ro', clients: ['*'], options: ['ro', 'sync', 'no_subtree_check', 'root_squash'] })])
    // The check the role runs before a candidate replaces the file (copy's validate, %s the candidate).
    const check = (candidate: string) => h.$`cat > /tmp/berth-candidate && ${raw(EXPORTFS_VALIDATE.replaceAll('%s', '/tmp/berth-candidate'))}`.stdin(candidate).nothrow()
    const accepted = await check(good)
    assert.is(accepted.code, 0, accepted.stderr)
    await h.$`cat > ${KERNEL_EXPORTS_FILE} && exportfs -ra && exportfs -s`.stdin(good)
    const listed = (await h.$`cat /var/lib/nfs/etab`).stdout
    assert.match(listed, /^\/srv\/nfs\/harbor\t10\.77\.0\.21\(rw,sync,.*all_squash.*anonuid=10000,anongid=10000/m)
    assert.match(listed, /^\/srv\/nfs\/ro\t\*\(ro,/m)
    const refused = await check(good.replace('no_subtree_check,all_squash', 'no_subtree_chek,all_squash'))
    assert.is.not(refused.code, 0)
    assert.match(refused.stderr, /\/etc\/exports\.d\/berth\.exports:\d+: unknown keyword "no_subtree_chek"/)
    // Nothing outside the check's namespace changed: the file and the export table are the good ones.
    assert.is((await h.$`cat ${KERNEL_EXPORTS_FILE}`).stdout, good)
    assert.is((await h.$`cat /var/lib/nfs/etab`).stdout, listed)
  })
}

test.run()
