// The packages of the backend a host will run, each skipped on the other
// backend: for a playbook that installs every tier's packages in one play first.
import { apt, type Task } from '../../src/index.ts'
import { onBackend } from './backend.ts'
import type { NfsBackend } from './options.ts'

export const KERNEL_PACKAGES = ['nfs-kernel-server']
/** libnfs and D-Bus's tools: berth-ganesha-apply lists exports and asks for an NFSv4 answer with them. */
export const GANESHA_PACKAGES = ['nfs-ganesha', 'nfs-ganesha-vfs', 'libnfs-utils', 'dbus']

export function nfsServerPackages(backend: NfsBackend): Task[] {
  return [
    onBackend(backend, 'kernel', apt({ packages: KERNEL_PACKAGES }).named('nfs-kernel-server')),
    onBackend(backend, 'ganesha', apt({ packages: GANESHA_PACKAGES }).named('nfs-ganesha (FSAL VFS), libnfs and D-Bus tools for its checks')),
  ]
}
