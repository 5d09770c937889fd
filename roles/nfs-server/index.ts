// nfs-server: directories exported over NFS, safe for Harbor by default (owned
// by 10000:10000, every client user squashed to 10000), by the kernel's server
// where the kernel has nfsd and by nfs-ganesha where it has none. Each backend
// checks what it serves before it reports success: exportfs parses the file
// before it replaces the old one, ganesha's log and export list are read after
// a reload. Facts: ../shared/docs/keepalived-nfs.md, "NFS server".
import { defineRole, file, type Task } from '../../src/index.ts'
import { backendDecision, onBackend } from './backend.ts'
import { ganeshaTasks } from './ganesha.ts'
import { kernelTasks } from './kernel.ts'
import { nfsServerPackages } from './packages.ts'
import { checkNfsOptions, exportOf, NFS_SERVER_DEFAULTS, type Fail, type NfsServerOptions } from './options.ts'

export type { NfsServerOptions, NfsExportInput, NfsExport, NfsBackend } from './options.ts'
export { HARBOR_SAFE_OPTIONS, exportOf, trustsClientRoot } from './options.ts'

export const nfsServer = defineRole<NfsServerOptions, typeof NFS_SERVER_DEFAULTS>({
  name: 'nfs-server',
  defaults: NFS_SERVER_DEFAULTS,
  required: ['exports'],
  validate: (o, fail) => checkNfsOptions(o, fail as unknown as Fail),
  tasks: (o): Task[] => {
    const exports = o.exports.map(exportOf)
    return [
      backendDecision(o.backend),
      ...nfsServerPackages(o.backend),
      ...exports.map((e) => file({ path: e.path, state: 'directory', owner: e.owner, group: e.group, mode: e.mode }).named(`exported directory ${e.path}`)),
      ...kernelTasks(exports).map((t) => onBackend(o.backend, 'kernel', t)),
      ...ganeshaTasks(exports).map((t) => onBackend(o.backend, 'ganesha', t)),
    ]
  },
})
