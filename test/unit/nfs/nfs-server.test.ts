// nfs-server's options and the two backends' files, as tables: one export in,
// the kernel's exports(5) line and ganesha's EXPORT block out; a wrong option
// named before any host is touched.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { exportId, GANESHA_EXPORTS, renderGaneshaCore, renderGaneshaExports, renderKernelExports } from '../../../roles/nfs-server/exports.ts'
import { checkNfsOptions, exportOf, trustsClientRoot, type NfsServerOptions } from '../../../roles/nfs-server/options.ts'
import { optionFailure } from '../../support/option-failure.ts'

const harbor = exportOf({ path: '/srv/nfs/harbor', clients: ['10.77.0.0/24'] })

test('the default export is safe for Harbor: owned by 10000, every client user squashed to 10000', () => {
  assert.equal(harbor.options, ['rw', 'sync', 'no_subtree_check', 'all_squash', 'anonuid=10000', 'anongid=10000'])
  assert.equal([harbor.owner, harbor.group, harbor.mode], ['10000', '10000', '0770'])
  assert.is(trustsClientRoot(harbor), false)
  assert.is(trustsClientRoot(exportOf({ path: '/x', clients: ['*'], options: ['rw', 'no_root_squash'] })), true)
})

test('kernel: one exports(5) line per export, path quoted, each client with the options', () => {
  const text = renderKernelExports([harbor, exportOf({ path: '/srv/nfs/ro', clients: ['10.77.0.21', 'harbor2'], options: ['ro', 'sync', 'no_subtree_check'] })])
  assert.equal(text.split('\n').filter((l) => l && !l.startsWith('#')), [
    '"/srv/nfs/harbor" 10.77.0.0/24(rw,sync,no_subtree_check,all_squash,anonuid=10000,anongid=10000)',
    '"/srv/nfs/ro" 10.77.0.21(ro,sync,no_subtree_check) harbor2(ro,sync,no_subtree_check)',
  ])
})

test('ganesha: NFSv4 only, graceless; squash, anonymous ids, clients and privileged ports carried over', () => {
  const core = renderGaneshaCore()
  assert.match(core, /NFS_CORE_PARAM \{\n    Protocols = 4;\n    Enable_NLM = false;\n    Enable_RQUOTA = false;\n    Enable_UDP = false;\n\}/)
  assert.match(core, /NFSv4 \{\n    Graceless = true;\n\}/)
  assert.ok(core.includes(`%include "${GANESHA_EXPORTS}"`), 'the exports are included from their own file')
  assert.not.ok(core.includes('EXPORT {'))
  const conf = renderGaneshaExports([harbor, exportOf({ path: '/srv/nfs/lab', clients: ['*'], options: ['rw', 'sync', 'no_subtree_check', 'no_root_squash', 'insecure'], pseudo: '/lab' })])
  const blocks = conf.split('EXPORT {').slice(1)
  assert.is(blocks.length, 2)
  const [first = '', second = ''] = blocks
  for (const line of [`Export_Id = ${exportId('/srv/nfs/harbor')};`, 'Path = "/srv/nfs/harbor";', 'Pseudo = "/srv/nfs/harbor";', 'Squash = All_Squash;', 'Anonymous_Uid = 10000;', 'Anonymous_Gid = 10000;', 'PrivilegedPort = true;', 'Clients = 10.77.0.0/24;', 'Access_Type = RW;', 'Name = VFS;'])
    assert.ok(first.includes(line), `first block: ${line}`)
  // Only the listed clients get access.
  assert.match(first, /Access_Type = None;\n[\s\S]*CLIENT \{\n        Clients = 10\.77\.0\.0\/24;\n        Protocols = 4;\n        Access_Type = RW;/)
  for (const line of [`Export_Id = ${exportId('/srv/nfs/lab')};`, 'Pseudo = "/lab";', 'Squash = No_Root_Squash;', 'PrivilegedPort = false;', 'Clients = *;']) assert.ok(second.includes(line), `second block: ${line}`)
  assert.not.ok(second.includes('Anonymous_Uid'))
})

test('ganesha: an export keeps its Export_Id when others come or go (a Path cannot move to another id on reload)', () => {
  const id = (text: string, path: string): string | undefined => new RegExp(`Export_Id = (\\d+);\\n    Path = "${path}"`).exec(text)?.[1]
  const lab = exportOf({ path: '/srv/nfs/lab', clients: ['*'] })
  const both = renderGaneshaExports([harbor, lab])
  const alone = renderGaneshaExports([lab])
  assert.ok(id(both, '/srv/nfs/lab'))
  assert.is(id(alone, '/srv/nfs/lab'), id(both, '/srv/nfs/lab'))
  assert.ok(exportId('/a') >= 1 && exportId('/a') <= 65535)
})

const check = (o: NfsServerOptions): string | undefined => optionFailure((fail) => checkNfsOptions(o, fail))

test('good options pass', () => {
  assert.is(check({ backend: 'auto', exports: [{ path: '/srv/nfs/harbor', clients: ['10.77.0.0/24'] }] }), undefined)
})

const rows: [string, NfsServerOptions, RegExp][] = [
  ['an unknown backend', { backend: 'nfsd' as never, exports: [{ path: '/a', clients: ['*'] }] }, /option 'backend' must be 'auto', 'kernel' or 'ganesha'/],
  ['no export', { backend: 'auto', exports: [] }, /option 'exports' must list at least one export/],
  ['a relative path', { backend: 'auto', exports: [{ path: 'srv', clients: ['*'] }] }, /option 'exports\[0\]' path must be an absolute directory/],
  ['a path exported twice', { backend: 'auto', exports: [{ path: '/a', clients: ['*'] }, { path: '/a', clients: ['h'] }] }, /option 'exports\[1\]' \/a is exported twice/],
  ['no client', { backend: 'auto', exports: [{ path: '/a', clients: [] }] }, /clients must list who may mount it/],
  ['a client with options glued on', { backend: 'auto', exports: [{ path: '/a', clients: ['*(rw)'] }] }, /client "\*\(rw\)" is not an address/],
  ['an option only one backend knows', { backend: 'auto', exports: [{ path: '/a', clients: ['*'], options: ['rw', 'crossmnt'] }] }, /option "crossmnt" is not one berth carries to both backends/],
  ['rw and ro', { backend: 'auto', exports: [{ path: '/a', clients: ['*'], options: ['rw', 'ro'] }] }, /both rw and ro/],
  ['all_squash without the anonymous ids', { backend: 'auto', exports: [{ path: '/a', clients: ['*'], options: ['rw', 'all_squash'] }] }, /all_squash needs anonuid= and anongid=/],
  ['two exports at one NFSv4 path', { backend: 'auto', exports: [{ path: '/a', clients: ['*'], pseudo: '/x' }, { path: '/b', clients: ['*'], pseudo: '/x' }] }, /option 'exports\[1\]' two exports have the NFSv4 path \/x/],
  ['a mode that is not octal', { backend: 'auto', exports: [{ path: '/a', clients: ['*'], mode: '777x' }] }, /mode must be octal/],
]
for (const [name, o, message] of rows)
  test(`refused: ${name}`, () => {
    const m = check(o)
    assert.ok(m, 'refused')
    assert.match(m, message)
  })

test.run()
