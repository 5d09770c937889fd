import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import type { FileState } from '../../../src/facts/file.ts'
import { parseMounts, type PathIdentity } from '../../../src/facts/mounts.ts'
import { writeFileCommand } from '../../../src/host.ts'
import { deviceFile, editFstab, mount, type MountPlan } from '../../../src/resources/mount.ts'
import type { Task } from '../../../src/resources/resource.ts'
import { operationsOf } from '../../support/plans.ts'
const sha256Of = (text: string): string => createHash('sha256').update(text).digest('hex')

const fileWith = (text: string): FileState => {
  const content = Buffer.from(text)
  return { exists: true, kind: 'file', typeName: 'regular file', mode: '0644', uid: 0, gid: 0, owner: 'root', group: 'root', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content }
}
const id = (device: number, inode: number, block = false, deviceNumber = 0): PathIdentity => ({ device, inode, isBlockDevice: block, deviceNumber })

const ROOT = '/dev/vda / ext4 rw,relatime 0 0\n'
const BIND_LINE = '/srv/a /mnt/b none bind 0 0'

/** Facts in the order the resource lists them: fstab, mounts, the path's identity, the source's. */
function planOf(t: Task, fstab: FileState, mounts: string, pathId?: PathIdentity, srcId?: PathIdentity): MountPlan {
  const facts = t.resource.facts()
  const values: unknown[] = [fstab, parseMounts(mounts), pathId, srcId]
  return t.resource.plan(factValues(facts.map((f, i) => [f as Fact<unknown>, values[i]]))) as MountPlan
}
const bind = (state: 'mounted' | 'unmounted' | 'present' | 'absent') => mount({ path: '/mnt/b', src: '/srv/a', fstype: 'none', opts: 'bind', state, fstab: '/tmp/fstab' })

test('mounted, nothing yet: fstab line, then mkdir and mount', async () => {
  const t = bind('mounted')
  const plan = planOf(t, fileWith('# fstab\n'), ROOT, id(1, 50), id(1, 40))
  assert.is(plan.changed, true)
  assert.is(plan.summary, '/tmp/fstab: 1 line changed; mount /mnt/b')
  assert.equal(plan.diff, { path: '/tmp/fstab', before: '# fstab\n', after: `# fstab\n${BIND_LINE}\n` })
  assert.equal(operationsOf(plan), [
    writeFileCommand('/tmp/fstab', { mode: '0644', replaces: sha256Of('# fstab\n') }).text,
    'mkdir -p -- /mnt/b && mount -t none -o bind -- /srv/a /mnt/b',
  ])
})

test('mounted and bound to the same directory (same device and inode): no change', () => {
  const t = bind('mounted')
  const plan = planOf(t, fileWith(`${BIND_LINE}\n`), ROOT + '/dev/vda /mnt/b ext4 rw,relatime 0 0\n', id(1, 40), id(1, 40))
  assert.equal([plan.changed, plan.summary], [false, 'mounted as wanted'])
})

test('mounted from something else: an error, never a second mount on top', () => {
  const t = bind('mounted')
  assert.throws(() => planOf(t, fileWith(`${BIND_LINE}\n`), ROOT + '/dev/vda /mnt/b ext4 rw 0 0\n', id(1, 99), id(1, 40)), /\/mnt\/b is already mounted from \/dev\/vda \(ext4\), not \/srv\/a/)
  const nfs = mount({ path: '/mnt/n', src: 'srv:/export', fstype: 'nfs', state: 'mounted', fstab: '/tmp/fstab' })
  assert.throws(() => planOf(nfs, fileWith(''), ROOT + 'other:/x /mnt/n nfs4 rw 0 0\n', id(5, 1)), /already mounted from other:\/x/)
  assert.is(planOf(nfs, fileWith('srv:/export /mnt/n nfs defaults 0 0\n'), ROOT + 'srv:/export /mnt/n nfs4 rw 0 0\n', id(5, 1)).changed, false)
})

test('device sources: the mount point must be on that device (UUID= resolved through /dev/disk/by-uuid)', () => {
  const t = mount({ path: '/data', src: 'UUID=abcd', fstype: 'ext4', state: 'mounted', fstab: '/tmp/fstab' })
  assert.is(t.resource.facts()[3]!.key, 'path-identity:/dev/disk/by-uuid/abcd')
  const fstab = fileWith('UUID=abcd /data ext4 defaults 0 0\n')
  assert.is(planOf(t, fstab, ROOT + '/dev/vdb1 /data ext4 rw 0 0\n', id(2049, 2), id(6, 300, true, 2049)).changed, false)
  assert.throws(() => planOf(t, fstab, ROOT + '/dev/vdc1 /data ext4 rw 0 0\n', id(2065, 2), id(6, 300, true, 2049)), /already mounted/)
})

test('mounted, fstab options changed while mounted: fstab updated, no remount, said so', async () => {
  const t = mount({ path: '/mnt/b', src: '/srv/a', fstype: 'none', opts: 'bind,ro', state: 'mounted', fstab: '/tmp/fstab' })
  const plan = planOf(t, fileWith(`${BIND_LINE}\n`), ROOT + '/dev/vda /mnt/b ext4 rw 0 0\n', id(1, 40), id(1, 40))
  assert.is(plan.summary, '/tmp/fstab: 1 line changed; already mounted: the new fstab options apply at the next mount')
  assert.is((operationsOf(plan)).length, 1)
})

test('unmounted: umount, fstab untouched; already unmounted: nothing', async () => {
  const t = bind('unmounted')
  const plan = planOf(t, fileWith(`${BIND_LINE}\n`), ROOT + '/dev/vda /mnt/b ext4 rw 0 0\n', id(1, 40), id(1, 40))
  assert.equal([plan.changed, plan.summary], [true, 'umount /mnt/b'])
  assert.equal(operationsOf(plan), ['umount -- /mnt/b'])
  assert.is(planOf(t, fileWith(''), ROOT, id(1, 50), id(1, 40)).changed, false)
})

test('present: fstab only, even when not mounted', async () => {
  const t = bind('present')
  const plan = planOf(t, { exists: false }, ROOT, undefined, id(1, 40))
  assert.equal([plan.changed, plan.summary], [true, '/tmp/fstab: create /tmp/fstab (0644)'])
  assert.equal(operationsOf(plan), [writeFileCommand('/tmp/fstab', { mode: '0644', replaces: 'absent' }).text])
})

test('absent: umount first, then the line goes', async () => {
  const t = bind('absent')
  const plan = planOf(t, fileWith(`# x\n${BIND_LINE}\n`), ROOT + '/dev/vda /mnt/b ext4 rw 0 0\n', id(1, 40), id(1, 40))
  assert.is(plan.summary, '/tmp/fstab: 1 line changed; umount /mnt/b')
  const cmds = operationsOf(plan)
  assert.is(cmds[0], 'umount -- /mnt/b')
  assert.is(cmds.length, 2)
  assert.is(planOf(t, { exists: false }, ROOT, undefined, id(1, 40)).changed, false)
})

const E = { source: '/srv/a', target: '/mnt/b', fstype: 'none', options: 'bind', dump: 0, passno: 0 }
const fstabRows: [string, string, typeof E | undefined, string][] = [
  ['append', '# static\nproc /proc proc defaults 0 0\n', E, `# static\nproc /proc proc defaults 0 0\n${BIND_LINE}\n`],
  ['append to a file without final newline', 'proc /proc proc defaults 0 0', E, `proc /proc proc defaults 0 0\n${BIND_LINE}\n`],
  ['same fields, other spacing: untouched', '/srv/a\t/mnt/b\tnone\tbind\t0\t0\n', E, '/srv/a\t/mnt/b\tnone\tbind\t0\t0\n'],
  ['same fields, trailing slash on the mount point: untouched', '/srv/a /mnt/b/ none bind 0 0\n', E, '/srv/a /mnt/b/ none bind 0 0\n'],
  ['changed options replace the line in place', `a /x ext4 defaults 0 0\n/srv/a /mnt/b none rbind 0 0\nb /y ext4 defaults 0 0\n`, E, `a /x ext4 defaults 0 0\n${BIND_LINE}\nb /y ext4 defaults 0 0\n`],
  ['duplicates for the mount point are dropped', `${BIND_LINE}\n/other /mnt/b none bind 0 0\n`, E, `${BIND_LINE}\n`],
  ['commented lines are not entries', `#/srv/a /mnt/b none bind 0 0\n`, E, `#/srv/a /mnt/b none bind 0 0\n${BIND_LINE}\n`],
  ['remove', `a /x ext4 defaults 0 0\n${BIND_LINE}\n`, undefined, 'a /x ext4 defaults 0 0\n'],
  ['remove: nothing there', 'a /x ext4 defaults 0 0\n', undefined, 'a /x ext4 defaults 0 0\n'],
  ['spaces escaped as \\040', '', { ...E, source: '/srv/my data', target: '/mnt/b' }, '/srv/my\\040data /mnt/b none bind 0 0\n'],
  ['CRLF kept', 'a /x ext4 defaults 0 0\r\n', E, `a /x ext4 defaults 0 0\r\n${BIND_LINE}\r\n`],
]
for (const [name, before, entry, after] of fstabRows)
  test(`editFstab: ${name}`, () => {
    const once = editFstab(before, '/mnt/b', entry)
    assert.is(once, after)
    assert.is(editFstab(once, '/mnt/b', entry), once)
  })

test('editFstab: a mount point with a space is matched unescaped', () => {
  const entry = { ...E, target: '/mnt/my b' }
  const once = editFstab('', '/mnt/my b', entry)
  assert.is(once, '/srv/a /mnt/my\\040b none bind 0 0\n')
  assert.is(editFstab(once, '/mnt/my b', entry), once)
  assert.is(editFstab(once, '/mnt/my b', undefined), '')
})

test('deviceFile', () => {
  assert.is(deviceFile('LABEL=data'), '/dev/disk/by-label/data')
  assert.is(deviceFile('PARTUUID=1-2'), '/dev/disk/by-partuuid/1-2')
  assert.is(deviceFile('/dev/sdb1'), '/dev/sdb1')
  assert.is(deviceFile('tmpfs'), undefined)
  assert.is(deviceFile('srv:/export'), undefined)
})

test('arguments', () => {
  const base = { path: '/mnt/x', src: '/dev/sdb1', fstype: 'ext4', state: 'mounted' as const }
  assert.throws(() => mount({ ...base, path: 'mnt' }), /mount: argument 'path'/)
  assert.throws(() => mount({ ...base, state: 'remounted' as 'mounted' }), /argument 'state'/)
  assert.throws(() => mount({ ...base, opts: 'a b' }), /argument 'opts'/)
  assert.throws(() => mount({ ...base, fstype: '' }), /argument 'fstype'/)
  assert.throws(() => mount({ ...base, passno: 10 }), /argument 'passno'/)
  assert.throws(() => mount({ ...base, path: '/' }), /argument 'path'/)
  assert.is(mount(base).name, 'mount /mnt/x')
})

test.run()
