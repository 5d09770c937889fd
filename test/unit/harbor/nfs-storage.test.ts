// harbor-node on NFS, as tables: the tasks a node gets for storage kind 'nfs'
// (the lab's kernel has no NFS client, so this path is proven by its plans and
// the lab reaches the export with libnfs instead), the mount command on a fresh
// node, and the check of what the data volume shows.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { harborNode, harborNodePackages } from '../../../roles/harbor-node/index.ts'
import { checkNfsMount, dockerRequiresMount, dockerStorageDropin, nfsSource, nfsStorageTasks, requiredMountsFact, type NfsStorage } from '../../../roles/harbor-node/nfs-storage.ts'
import { NFS_MOUNT_OPTIONS } from '../../../roles/harbor-node/options.ts'
import type { MountPlan } from '../../../src/resources/mount.ts'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import { goldenHarborOptions } from '../../support/harbor-options.ts'
import type { Operation } from '../../../src/index.ts'

const nfs: NfsStorage = { kind: 'nfs', server: '10.77.0.10', export: '/srv/nfs/harbor' }
const entry = (source: string, fstype: string) => ({ source, target: '/data', fstype, options: 'rw', dump: 0, passno: 0 })
const shown = (ops: readonly Operation[] | undefined): string[] => (ops ?? []).map((o) => (o.kind === 'run' ? o.command.text : o.kind === 'write' ? `write ${o.path}` : o.kind))

test("kind 'nfs': nfs-common, the mount, its check, Docker's dependency on it, then the cross-node markers", () => {
  // The role checks the installer on this machine before it builds tasks: a small stand-in file.
  const dir = mkdtempSync(join(tmpdir(), 'berth-nfs-storage-'))
  const file = join(dir, 'harbor-offline-installer-v2.11.2.tgz')
  writeFileSync(file, 'not an installer')
  const installer = { file, sha256: createHash('sha256').update('not an installer').digest('hex') }
  const o = { ...goldenHarborOptions('2.11.2'), installer, storage: nfs, group: { node: 'harbor1', nodes: ['harbor1', 'harbor2'] } }
  assert.ok(harborNodePackages(o).some((t) => t.name === 'NFS client (nfs-common)'))
  let names: string[]
  try {
    names = harborNode(o).tasks.map((t) => t.name.replace(/^harbor-node : /, ''))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const at = (n: string): number => names.findIndex((x) => x.startsWith(n))
  const order = ['NFS export 10.77.0.10:/srv/nfs/harbor mounted at /data', '/data is the NFS export', 'Docker waits for the data volume', 'docker.service requires the mount of /data', 'storage marker of harbor1', "every node's marker visible on /data"]
  const positions = order.map(at)
  assert.ok(positions.every((p) => p >= 0), `all present: ${JSON.stringify(positions)}`)
  assert.equal([...positions].sort((a, b) => a - b), positions)
  assert.not.ok(names.some((n) => n.startsWith('data volume /data is a mount')), "the 'mounted' check is for kind 'mounted'")
  // And not for kind 'mounted'.
  assert.not.ok(harborNodePackages({ ...o, storage: { kind: 'mounted' } }).some((t) => t.name === 'NFS client (nfs-common)'))
})

test('a fresh node: the fstab line (nfs4, hard, tcp, _netdev) and the mount', () => {
  const [mountTask] = nfsStorageTasks('/data', nfs)
  const fstab = Buffer.from('# fstab\n')
  const withContent = (text: string): object => ({ ...(values[0] as object), size: text.length, sha256: createHash('sha256').update(text).digest('hex'), content: Buffer.from(text) })
  const facts = mountTask?.resource.facts() ?? []
  // In the order the resource lists them: fstab, mounts, the path's identity (no source identity for a remote export).
  const values: unknown[] = [{ exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: fstab.length, sha256: createHash('sha256').update(fstab).digest('hex'), content: fstab }, [], undefined]
  assert.is(facts.length, 3)
  const plan = mountTask?.resource.plan(factValues(facts.map((f, i) => [f as Fact<unknown>, values[i]]))) as MountPlan
  assert.is(plan.diff?.after, `# fstab\n10.77.0.10:/srv/nfs/harbor /data nfs4 ${NFS_MOUNT_OPTIONS} 0 0\n`)
  assert.equal(NFS_MOUNT_OPTIONS, 'rw,hard,proto=tcp,timeo=600,retrans=2,noatime,_netdev,nofail')
  assert.equal(plan.after.map((c) => c.text), ['mkdir -p -- /data', `mount -t nfs4 -o ${NFS_MOUNT_OPTIONS} -- 10.77.0.10:/srv/nfs/harbor /data`])
  // Mounted already from the export: nothing to do.
  const done = mountTask?.resource.plan(factValues(facts.map((f, i) => [f as Fact<unknown>, i === 1 ? [entry(nfsSource(nfs), 'nfs4')] : i === 0 ? withContent(plan.diff?.after ?? '') : values[i]])))
  assert.is(done?.changed, false)
})

test('what /data shows: the export over NFS, or an error naming what it is', () => {
  assert.match(checkNfsMount('/data', nfs, [entry('10.77.0.10:/srv/nfs/harbor', 'nfs4')]).summary, /is 10\.77\.0\.10:\/srv\/nfs\/harbor \(nfs4\)/)
  assert.throws(() => checkNfsMount('/data', nfs, []), /\/data is not mounted: the NFS export 10\.77\.0\.10:\/srv\/nfs\/harbor should be/)
  assert.throws(() => checkNfsMount('/data', nfs, [entry('/dev/sdb1', 'ext4')]), /\/data shows \/dev\/sdb1 \(ext4\), not the NFS export/)
  // The last mount listed is the one on top.
  assert.throws(() => checkNfsMount('/data', nfs, [entry('10.77.0.10:/srv/nfs/harbor', 'nfs4'), entry('tmpfs', 'tmpfs')]), /shows tmpfs/)
})

test("Docker's dependency: read from systemd, a daemon-reload until it shows", () => {
  assert.is(dockerStorageDropin('/data'), '# Managed by berth (harbor-node): Docker starts only once Harbor\'s data volume is mounted.\n[Unit]\nRequiresMountsFor=/data\n')
  const t = dockerRequiresMount('/data')
  assert.is(t.resource.plan(factValues([[requiredMountsFact, ['/var/lib/docker', '/data']]])).changed, false)
  const reload = t.resource.plan(factValues([[requiredMountsFact, ['/var/lib/docker']]]))
  assert.equal(shown(reload.operations), ['systemctl daemon-reload'])
})

test.run()
