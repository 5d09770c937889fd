// storage kind 'nfs': the data volume is an NFS export this node mounts itself
// (NFSv4, an fstab line so it comes back at boot), Docker's unit requires that
// mount (containers never start on an empty mount point), and what is mounted
// is checked to be that export before anything is written on it.
// Facts: ../shared/docs/keepalived-nfs.md, "NFS clients (Harbor nodes)".
import { BerthError, copy, fact, file, mount, mountsFact, runOp, sh, task, type FactValues, type MountEntry, type Resource, type Task } from '../../src/index.ts'
import { NFS_MOUNT_OPTIONS, type HarborStorage } from './options.ts'

export type NfsStorage = Extract<HarborStorage, { kind: 'nfs' }>

/** What mount(8) and /proc/self/mounts call the export. */
export const nfsSource = (s: NfsStorage): string => `${s.server}:${s.export}`

/** A drop-in of berth's own beside the package's unit. */
export const DOCKER_STORAGE_DROPIN = '/etc/systemd/system/docker.service.d/berth-harbor-storage.conf'

export const dockerStorageDropin = (dataVolume: string): string =>
  `# Managed by berth (harbor-node): Docker starts only once Harbor's data volume is mounted.\n[Unit]\nRequiresMountsFor=${dataVolume}\n`

/** Pure: what the data volume shows must be the export, over NFS. */
export function checkNfsMount(dataVolume: string, s: NfsStorage, mounts: readonly MountEntry[]): { changed: false; summary: string } {
  const top = mounts.filter((m) => m.target === dataVolume).pop()
  if (top === undefined)
    throw new BerthError(`${dataVolume} is not mounted: the NFS export ${nfsSource(s)} should be`, { hint: `mount ${dataVolume} shows why (is the server up, does it export ${s.export} to this host?)` })
  if (!/^nfs4?$/.test(top.fstype) || top.source !== nfsSource(s))
    throw new BerthError(`${dataVolume} shows ${top.source} (${top.fstype}), not the NFS export ${nfsSource(s)}`, { hint: `umount ${dataVolume} and run again; berth does not stack mounts` })
  return { changed: false, summary: `${dataVolume} is ${nfsSource(s)} (${top.fstype})` }
}

export function dataVolumeIsExport(dataVolume: string, s: NfsStorage): Task {
  const res: Resource = {
    title: `${dataVolume} is the NFS export ${nfsSource(s)}`,
    facts: () => [mountsFact],
    plan: (f: FactValues) => checkNfsMount(dataVolume, s, f.get(mountsFact)),
  }
  return task(res)
}

export const requiredMountsFact = fact('docker-requires-mounts-for', sh`systemctl show -p RequiresMountsFor --value docker.service`, (o) => o.stdout.trim().split(/\s+/).filter(Boolean))

/** systemd has read the drop-in (a daemon-reload after it was written), read from systemd itself rather than remembered in a handler. */
export function dockerRequiresMount(dataVolume: string): Task {
  const res: Resource = {
    title: `docker.service requires the mount of ${dataVolume}`,
    facts: () => [requiredMountsFact],
    plan: (f: FactValues) =>
      f.get(requiredMountsFact).includes(dataVolume)
        ? { changed: false, summary: `RequiresMountsFor=${dataVolume}` }
        : { changed: true, summary: 'systemctl daemon-reload: systemd has not read the drop-in yet', operations: [runOp(sh`systemctl daemon-reload`)] },
  }
  return task(res)
}

export function nfsStorageTasks(dataVolume: string, s: NfsStorage): Task[] {
  return [
    mount({ path: dataVolume, src: nfsSource(s), fstype: 'nfs4', opts: s.options ?? NFS_MOUNT_OPTIONS, state: 'mounted' }).named(`NFS export ${nfsSource(s)} mounted at ${dataVolume} (and in fstab)`),
    dataVolumeIsExport(dataVolume, s),
    file({ path: DOCKER_STORAGE_DROPIN.replace(/\/[^/]+$/, ''), state: 'directory', mode: '0755' }).named('docker.service.d'),
    copy({ path: DOCKER_STORAGE_DROPIN, content: dockerStorageDropin(dataVolume), mode: '0644' }).named('Docker waits for the data volume (systemd drop-in)'),
    dockerRequiresMount(dataVolume),
  ]
}
