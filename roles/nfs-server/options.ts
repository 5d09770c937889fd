// nfs-server's options: the exports as typed data, and the checks that fail,
// naming the option, before any host is touched. The default export is safe
// for Harbor (its registry writes as uid/gid 10000): owned by 10000:10000 and
// every client user squashed to 10000 (exports(5) all_squash, anonuid,
// anongid). Facts: ../shared/docs/keepalived-nfs.md, "NFS server".
import { exportId } from './exports.ts'

/** 'kernel': nfs-kernel-server and /etc/exports.d; 'ganesha': nfs-ganesha (NFSv4, FSAL VFS) for hosts whose kernel has no nfsd; 'auto': the kernel server where the kernel has nfsd. */
export type NfsBackend = 'auto' | 'kernel' | 'ganesha'

export interface NfsExport {
  /** The exported directory on the server (absolute; created with owner, group, mode). */
  path: string
  /** Who may mount it: addresses, networks (10.77.0.0/24), host names, or '*'. */
  clients: string[]
  /** exports(5) options, the same for both backends (ganesha's EXPORT block is derived from them). */
  options: string[]
  owner: string
  group: string
  mode: string
  /** NFSv4 path clients mount (ganesha's Pseudo); default: the path. */
  pseudo?: string
}

/** What a playbook gives for an export: the path and the clients; the rest defaults to Harbor's safe choice. */
export type NfsExportInput = Pick<NfsExport, 'path' | 'clients'> & Partial<Omit<NfsExport, 'path' | 'clients'>>

export interface NfsServerOptions {
  backend: NfsBackend
  exports: NfsExportInput[]
}

/** Harbor's registry writes as 10000:10000: every client user becomes that user, root included. */
export const HARBOR_SAFE_OPTIONS = ['rw', 'sync', 'no_subtree_check', 'all_squash', 'anonuid=10000', 'anongid=10000']

export const EXPORT_DEFAULTS: Omit<NfsExport, 'path' | 'clients'> = {
  options: HARBOR_SAFE_OPTIONS,
  owner: '10000',
  group: '10000',
  mode: '0770',
}

export const NFS_SERVER_DEFAULTS = { backend: 'auto' as NfsBackend }

export const exportOf = (e: NfsExportInput): NfsExport => ({ ...EXPORT_DEFAULTS, ...e })

export type Fail = (option: string, problem: string, hint?: string) => never

/** exports(5) options berth knows how to carry to both backends. */
const KNOWN_OPTIONS = /^(rw|ro|sync|async|no_subtree_check|subtree_check|secure|insecure|root_squash|no_root_squash|all_squash|no_all_squash|anonuid=\d+|anongid=\d+|fsid=(\d+|root|[0-9a-f-]{36}))$/
const CLIENT = /^(\*|[A-Za-z0-9.-]+|\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?)$/

export function checkNfsOptions(o: NfsServerOptions, fail: Fail): void {
  if (!['auto', 'kernel', 'ganesha'].includes(o.backend)) fail('backend', `must be 'auto', 'kernel' or 'ganesha', got ${JSON.stringify(o.backend)}`)
  if (!Array.isArray(o.exports) || o.exports.length === 0) fail('exports', 'must list at least one export: { path, clients }')
  const paths = new Set<string>()
  const ids = new Map<number, string>()
  const pseudos = new Set<string>()
  o.exports.forEach((input, i) => {
    const at = `exports[${i}]`
    const e = exportOf(input)
    if (typeof e.path !== 'string' || !/^\/[^\s"]*$/.test(e.path) || e.path === '/' || e.path.includes('..')) fail(at, `path must be an absolute directory without spaces, quotes or '..', got ${JSON.stringify(e.path)}`)
    if (paths.has(e.path)) fail(at, `${e.path} is exported twice`)
    paths.add(e.path)
    const clash = ids.get(exportId(e.path))
    if (clash !== undefined) fail(at, `${e.path} and ${clash} get the same ganesha Export_Id (${exportId(e.path)}, from their paths)`, 'export a directory of a different name')
    ids.set(exportId(e.path), e.path)
    if (!Array.isArray(e.clients) || e.clients.length === 0) fail(at, 'clients must list who may mount it (an address, a network such as 10.77.0.0/24, or *)')
    for (const c of e.clients) if (typeof c !== 'string' || !CLIENT.test(c)) fail(at, `client ${JSON.stringify(c)} is not an address, a network, a host name or *`)
    for (const opt of e.options) if (!KNOWN_OPTIONS.test(opt)) fail(at, `option ${JSON.stringify(opt)} is not one berth carries to both backends`, `known: rw, ro, sync, async, (no_)subtree_check, (in)secure, root_squash, no_root_squash, all_squash, anonuid=N, anongid=N, fsid=N`)
    const has = (x: string): boolean => e.options.includes(x)
    if (has('rw') && has('ro')) fail(at, 'options say both rw and ro')
    if (has('all_squash') && has('no_root_squash')) fail(at, 'options say both all_squash and no_root_squash')
    if (has('all_squash') && !(e.options.some((x) => x.startsWith('anonuid=')) && e.options.some((x) => x.startsWith('anongid='))))
      fail(at, 'all_squash needs anonuid= and anongid= (Harbor: 10000): the default anonymous user is nobody, which cannot write Harbor\'s files')
    if (!/^[0-7]{3,4}$/.test(e.mode)) fail(at, `mode must be octal such as '0770', got ${JSON.stringify(e.mode)}`)
    if (e.pseudo !== undefined && !/^\/[^\s"]*$/.test(e.pseudo)) fail(at, `pseudo must be an absolute NFSv4 path, got ${JSON.stringify(e.pseudo)}`)
    const pseudo = e.pseudo ?? e.path
    if (pseudos.has(pseudo)) fail(at, `two exports have the NFSv4 path ${pseudo}`)
    pseudos.add(pseudo)
  })
}

/** Trusts every client's root (the seed's `*(rw,no_root_squash)`): said in a warning, not refused. */
export function trustsClientRoot(e: NfsExport): boolean {
  return e.options.includes('no_root_squash')
}
