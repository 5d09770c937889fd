// The kernel's NFS server (nfs-kernel-server): berth's own exports file under
// /etc/exports.d/, checked by exportfs before it replaces the old one, applied
// with `exportfs -ra`, and the kernel's export list read back. As for ganesha,
// whether to apply is decided from a recorded checksum, so a run interrupted
// after the write still applies it on the next run.
import { copy, fact, file, raw, runOp, service, sh, ShellCommand, task, type FactValues, type Resource, type Task } from '../../src/index.ts'
import { KERNEL_EXPORTS_FILE, renderKernelExports } from './exports.ts'
import type { NfsExport } from './options.ts'

export const KERNEL_STATE = '/var/lib/berth/nfs-kernel-server'

/**
 * exportfs reads only /etc/exports and /etc/exports.d/, and has no dry run. So
 * the candidate is put in place in a private mount namespace, over a copy of
 * exports.d and a scratch /var/lib/nfs, and `exportfs -ra` parses it there: it
 * reports `file:line` errors and exits 1, and nothing it writes is seen outside
 * (the kernel's cache is only flushed; mountd answers from the real etab).
 */
export const EXPORTFS_VALIDATE =
  `unshare -m sh -ec 'd=$(mktemp -d); trap "rm -rf \\"\\$d\\"" EXIT; cp -p /etc/exports.d/*.exports "$d"/ 2>/dev/null || true; ` +
  `cp "$1" "$d"/${KERNEL_EXPORTS_FILE.split('/').pop()}; mount --bind "$d" /etc/exports.d; mount -t tmpfs tmpfs /var/lib/nfs; exportfs -ra' exportfs-check %s`

/**
 * What is recorded of the exports file when it is applied: its inode and
 * checksum. A file written again (berth writes by rename: a new inode) is
 * applied again even with the same content: someone may have applied a hand
 * edit in between.
 */
const RECORD = `stat -c '%i %n' ${KERNEL_EXPORTS_FILE} && sha256sum ${KERNEL_EXPORTS_FILE}`

export interface KernelExportsState {
  applied: string | undefined
  current: string
  /** Paths in the kernel's export list (`exportfs -s`). */
  exported: string[]
}

const SEP = '--berth--'

/** exportfs -s: `PATH  CLIENT(OPTIONS)…`, a path with spaces octal-escaped (\040). */
export function parseKernelExportsState(o: { stdout: string }): KernelExportsState {
  const [applied = '', current = '', listed = ''] = o.stdout.split(`${SEP}\n`)
  return {
    applied: applied.trim() === '' ? undefined : applied.trim(),
    current: current.trim(),
    exported: listed.split('\n').flatMap((l) => (l.startsWith('/') ? [(l.split(/\s+/)[0] as string).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))] : [])),
  }
}

export const kernelExportsFact = fact(
  'nfs-kernel-exports',
  new ShellCommand(`cat ${KERNEL_STATE}/applied 2>/dev/null; echo ${SEP}; ${RECORD} 2>/dev/null; echo ${SEP}; exportfs -s 2>/dev/null || true`),
  parseKernelExportsState,
)

/** Pure: `exportfs -ra` when the file changed since it was last applied or the kernel lacks an export. */
export function planKernelExports(exports: readonly NfsExport[], s: KernelExportsState): { changed: boolean; summary: string } {
  const missing = exports.filter((e) => !s.exported.includes(e.path)).map((e) => e.path)
  if (s.applied !== s.current) return { changed: true, summary: `exportfs -ra: ${KERNEL_EXPORTS_FILE} was written since it was last applied` }
  if (missing.length > 0) return { changed: true, summary: `exportfs -ra: the kernel does not export ${missing.join(', ')}` }
  return { changed: false, summary: `the kernel exports ${exports.map((e) => e.path).join(', ')}` }
}

/** exportfs -ra, every export read back from the kernel's list, then the checksum recorded. */
export const applyKernelExports = (paths: readonly string[]): ShellCommand =>
  sh`exportfs -ra && for p in ${paths}; do exportfs -s | awk -v p="$p" '$1 == p { found = 1 } END { exit !found }' || { echo "the kernel does not export $p after exportfs -ra" >&2; exit 1; }; done && { ${raw(RECORD)}; } > ${KERNEL_STATE}/applied`

export function kernelServes(exports: readonly NfsExport[]): Task {
  const res: Resource = {
    title: 'the kernel server exports the written file',
    facts: () => [kernelExportsFact],
    plan: (f: FactValues) => {
      const p = planKernelExports(exports, f.get(kernelExportsFact))
      return p.changed ? { ...p, operations: [runOp(applyKernelExports(exports.map((e) => e.path)))] } : p
    },
  }
  return task(res)
}

export function kernelTasks(exports: readonly NfsExport[]): Task[] {
  return [
    file({ path: '/etc/exports.d', state: 'directory', mode: '0755' }).named('/etc/exports.d'),
    file({ path: KERNEL_STATE, state: 'directory', mode: '0700' }).named('nfs-kernel-server state directory (checksum of the applied exports)'),
    copy({ path: KERNEL_EXPORTS_FILE, content: renderKernelExports(exports), mode: '0644', validate: EXPORTFS_VALIDATE }).named(`${KERNEL_EXPORTS_FILE} (checked by exportfs first)`),
    service({ name: 'nfs-server', state: 'started', enabled: true }).named('nfs-server started and enabled'),
    kernelServes(exports),
  ]
}
