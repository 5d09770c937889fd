// Which NFS server a host runs: the kernel's (nfs-kernel-server) where the
// kernel has nfsd, nfs-ganesha (user space) where it has none (a container, a
// kernel built without it). The choice is read from the host, shown as a task
// of its own, and every backend-specific task is skipped on the other backend.
import { BerthError, fact, sh, task, whenFact, type Fact, type FactValues, type Resource, type Task } from '../../src/index.ts'
import type { NfsBackend } from './options.ts'

/** 'loaded': nfsd is registered; 'module': it can be loaded (modules.dep or built in); 'none'. */
export type NfsdState = 'loaded' | 'module' | 'none'

export function parseNfsd(o: { stdout: string }): NfsdState {
  const v = o.stdout.trim()
  return v === 'loaded' || v === 'module' ? v : 'none'
}

export const nfsdFact: Fact<NfsdState> = fact(
  'kernel-nfsd',
  sh`k=/lib/modules/$(uname -r); if grep -qw nfsd /proc/filesystems; then echo loaded; elif grep -qs '/nfsd\.ko' "$k/modules.dep" "$k/modules.builtin"; then echo module; else echo none; fi`,
  parseNfsd,
)

export type ResolvedBackend = 'kernel' | 'ganesha'

/** Pure: the backend this host runs, or why the one asked for cannot run here. */
export function resolveBackend(wanted: NfsBackend, nfsd: NfsdState): { backend: ResolvedBackend; why: string } {
  const has = nfsd !== 'none'
  if (wanted === 'kernel' && !has)
    throw new BerthError("backend 'kernel' needs the kernel's nfsd, and this host's kernel has none (not in /proc/filesystems, no nfsd module)", {
      hint: "give backend 'ganesha' (a user-space server) or 'auto'",
    })
  if (wanted === 'kernel') return { backend: 'kernel', why: 'asked for' }
  if (wanted === 'ganesha') return { backend: 'ganesha', why: 'asked for' }
  return has ? { backend: 'kernel', why: `auto: the kernel has nfsd (${nfsd})` } : { backend: 'ganesha', why: 'auto: this kernel has no nfsd' }
}

/** The decision, as a task that changes nothing: `ok: [nfs1] => ganesha (auto: this kernel has no nfsd)`. */
export function backendDecision(wanted: NfsBackend): Task {
  const res: Resource = {
    title: 'NFS server backend',
    facts: () => [nfsdFact],
    plan: (f: FactValues) => {
      const { backend, why } = resolveBackend(wanted, f.get(nfsdFact))
      return { changed: false, summary: `${backend} (${why})` }
    },
  }
  return task(res)
}

/** A task that runs only on hosts whose backend is `backend`. */
export function onBackend(wanted: NfsBackend, backend: ResolvedBackend, t: Task): Task {
  return whenFact(nfsdFact, (nfsd) => {
    const chosen = resolveBackend(wanted, nfsd).backend
    return chosen === backend || `${chosen === 'kernel' ? 'the kernel server' : 'nfs-ganesha'} serves here`
  }, t)
}
