// nfs-server's decisions as tables: the backend from the kernel's nfsd, and
// for each backend whether to apply (restart, reload, exportfs -ra) from the
// recorded checksums and what the server says it serves.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseNfsd, resolveBackend, type NfsdState } from '../../../roles/nfs-server/backend.ts'
import { exportId, GANESHA_CONF, GANESHA_EXPORTS, KERNEL_EXPORTS_FILE } from '../../../roles/nfs-server/exports.ts'
import { parseGaneshaState, planGanesha, type GaneshaState } from '../../../roles/nfs-server/ganesha.ts'
import { applyKernelExports, EXPORTFS_VALIDATE, parseKernelExportsState, planKernelExports } from '../../../roles/nfs-server/kernel.ts'
import { exportOf, type NfsBackend } from '../../../roles/nfs-server/options.ts'

const rows: [NfsBackend, NfsdState, string | RegExp][] = [
  ['auto', 'loaded', 'kernel'],
  ['auto', 'module', 'kernel'],
  ['auto', 'none', 'ganesha'],
  ['ganesha', 'loaded', 'ganesha'],
  ['kernel', 'module', 'kernel'],
  ['kernel', 'none', /backend 'kernel' needs the kernel's nfsd/],
]
for (const [wanted, nfsd, out] of rows)
  test(`backend ${wanted} with nfsd ${nfsd}: ${out}`, () => {
    if (typeof out === 'string') assert.is(resolveBackend(wanted, nfsd).backend, out)
    else assert.throws(() => resolveBackend(wanted, nfsd), out)
  })

test('nfsd: loaded, loadable, or none', () => {
  assert.equal(['loaded\n', 'module\n', 'none\n', ''].map((stdout) => parseNfsd({ stdout })), ['loaded', 'module', 'none', 'none'])
})

const harbor = exportOf({ path: '/srv/nfs/harbor', clients: ['10.77.0.21'] })
const id = `${exportId('/srv/nfs/harbor')}:/srv/nfs/harbor`
// As recorded: each file's inode line, then its sha256sum line.
const sums = (core: string, exp: string): string => `1 ${GANESHA_CONF}\n2 ${GANESHA_EXPORTS}\n${core}  ${GANESHA_CONF}\n${exp}  ${GANESHA_EXPORTS}`
const serving: GaneshaState = { applied: sums('a', 'b'), current: sums('a', 'b'), active: true, loaded: [id] }

const ganeshaRows: [string, Partial<GaneshaState>, 'restart' | 'reload' | undefined, RegExp][] = [
  ['serving what was applied', {}, undefined, /serves \/srv\/nfs\/harbor/],
  ['not running', { active: false }, 'restart', /start nfs-ganesha/],
  ['never applied (a fresh host)', { applied: undefined }, 'restart', /ganesha\.conf is not the one it was last started with/],
  ['ganesha.conf changed', { current: sums('c', 'b') }, 'restart', /restart nfs-ganesha/],
  ['only the exports changed', { current: sums('a', 'c') }, 'reload', /reload nfs-ganesha: .*berth-exports\.conf was written since it was last applied/],
  ['the exports written again, same content (a new inode)', { current: sums('a', 'b').replace(`2 ${GANESHA_EXPORTS}`, `9 ${GANESHA_EXPORTS}`) }, 'reload', /was written since/],
  ['ganesha.conf written again, same content', { current: sums('a', 'b').replace(`1 ${GANESHA_CONF}`, `8 ${GANESHA_CONF}`) }, 'restart', /restart nfs-ganesha/],
  ['an export not served (restarted by hand with another file?)', { loaded: [] }, 'reload', /does not serve/],
  ['an export served that is not asked for', { loaded: [id, '7:/srv/old'] }, 'reload', /serves 7:\/srv\/old, not asked for/],
]
for (const [name, state, mode, summary] of ganeshaRows)
  test(`ganesha, ${name}: ${mode ?? 'nothing'}`, () => {
    const p = planGanesha([harbor], { ...serving, ...state })
    assert.is(p.mode, mode)
    assert.is(p.changed, mode !== undefined)
    assert.match(p.summary, summary)
    assert.equal(p.wanted, [id])
  })

test('ganesha state: checksums, activity and the export list, the pseudo root left out', () => {
  const out = `${sums('a', 'b')}\n--berth--\n${sums('a', 'b')}\n--berth--\nactive\n--berth--\n${id}\n0:/\n`
  assert.equal(parseGaneshaState({ stdout: out }), serving)
  const fresh = parseGaneshaState({ stdout: '--berth--\n--berth--\ninactive\n--berth--\n' })
  assert.equal(fresh, { applied: undefined, current: '', active: false, loaded: [] })
})

test('kernel: exportfs -ra when the file changed since it was applied or the kernel lacks an export', () => {
  const file = `f  ${KERNEL_EXPORTS_FILE}`
  assert.is(planKernelExports([harbor], { applied: file, current: file, exported: ['/srv/nfs/harbor'] }).changed, false)
  assert.match(planKernelExports([harbor], { applied: undefined, current: file, exported: [] }).summary, /was written since it was last applied/)
  assert.match(planKernelExports([harbor], { applied: file, current: file, exported: ['/srv/other'] }).summary, /the kernel does not export \/srv\/nfs\/harbor/)
})

test('kernel state: exportfs -s lines, a path with a space unescaped', () => {
  const out = `x  ${KERNEL_EXPORTS_FILE}\n--berth--\ny  ${KERNEL_EXPORTS_FILE}\n--berth--\n/srv/nfs/harbor  10.77.0.21(sync,wdelay,hide,no_subtree_check)\n/srv/a\\040b  *(ro)\n`
  assert.equal(parseKernelExportsState({ stdout: out }), { applied: `x  ${KERNEL_EXPORTS_FILE}`, current: `y  ${KERNEL_EXPORTS_FILE}`, exported: ['/srv/nfs/harbor', '/srv/a b'] })
})

test('kernel: the candidate is parsed by exportfs in a private mount namespace, then applied and read back', () => {
  assert.match(EXPORTFS_VALIDATE, /^unshare -m sh -ec '.*mount --bind "\$d" \/etc\/exports\.d; mount -t tmpfs tmpfs \/var\/lib\/nfs; exportfs -ra' exportfs-check %s$/)
  assert.is(
    applyKernelExports(['/srv/nfs/harbor']).text,
    `exportfs -ra && for p in /srv/nfs/harbor; do exportfs -s | awk -v p="$p" '$1 == p { found = 1 } END { exit !found }' || { echo "the kernel does not export $p after exportfs -ra" >&2; exit 1; }; done && { stat -c '%i %n' ${KERNEL_EXPORTS_FILE} && sha256sum ${KERNEL_EXPORTS_FILE}; } > /var/lib/berth/nfs-kernel-server/applied`,
  )
})

test.run()
