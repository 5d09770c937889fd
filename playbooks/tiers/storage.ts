// Shared storage for a Harbor group (group `nfs`): nfs-server's exports, as
// field runbook seed 000 serves Harbor's data volume from its storage node.
// No top-level side effects: the Harbor playbooks import it.
//
// Variables (group_vars/nfs/main.yml): `nfs_exports` (the role's exports: path,
// clients, and optionally options, owner, group, mode, pseudo) and
// `nfs_backend` ('auto', 'kernel' or 'ganesha').
import type { Host, Playbook, Task } from '../../src/index.ts'
import { nfsServer, type NfsBackend, type NfsExportInput } from '../../roles/nfs-server/index.ts'
import { nfsServerPackages } from '../../roles/nfs-server/packages.ts'

const optionsOf = (h: Host): { backend: NfsBackend; exports: NfsExportInput[] } => ({
  backend: h.var<NfsBackend>('nfs_backend', 'auto'),
  exports: h.need<NfsExportInput[]>('nfs_exports', 'nfs-server'),
})

export async function storageTier(pb: Playbook): Promise<void> {
  await pb.play('NFS storage for Harbor', 'nfs', (h) => nfsServer(optionsOf(h)))
}

/** The NFS hosts' packages (the backend's, decided on the host), for a playbook's packages play; empty for other hosts. */
export function storagePackages(pb: Playbook): (h: Host) => Task[] {
  const isNfs = new Set(pb.inventory.select('nfs').map((h) => h.name))
  return (h) => (isNfs.has(h.name) ? nfsServerPackages(h.var<NfsBackend>('nfs_backend', 'auto')) : [])
}
