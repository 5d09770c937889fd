// A container image present on the host: loaded from an archive copied from
// the controller where no registry is reachable (an air-gapped site, the lab),
// pulled otherwise. Present is present: a tag is never replaced behind a
// running container's back (a new image is a new tag).
import { BerthError, fact, localFile, runOp, sh, task, uploadOp, type FactValues, type Operation, type Plan, type Resource, type Task } from '../../src/index.ts'

export interface ContainerImageOptions {
  /** repository:tag, as compose names it. */
  name: string
  /** A `docker save` archive on the controller holding `name`, for hosts without a registry. */
  archive?: string | undefined
}

/** Where an archive waits on the host while it is loaded. */
export const archiveOnHost = (archive: string): string => `/var/tmp/berth-image-${archive.split('/').pop() ?? 'archive'}`

export type ImagePresence = 'present' | 'absent'

/** Exits 0 when the host has the image. */
const inspectImage = (name: string) => sh`docker image inspect --format '{{.Id}}' ${name}`

/** Read with the facts of the tasks before the engine is installed, so it never throws: the plan says what is wrong. */
export function imageFact(name: string) {
  return fact(`docker-image:${name}`, inspectImage(name), (o): ImagePresence | { unknown: string } => {
    if (o.code === 0) return 'present'
    if (/No such (image|object)/i.test(o.stderr)) return 'absent'
    return { unknown: o.stderr.trim() || `exit ${o.code}` }
  }, { slow: true })
}

/** Pure: what makes the image present. */
export function planImage(o: ContainerImageOptions, presence: ImagePresence, archiveFile?: { sha256: string; bytes: number }): Plan {
  if (presence === 'present') return { changed: false, summary: `${o.name} present` }
  const check = runOp(sh`${inspectImage(o.name)} >/dev/null`)
  if (!o.archive || !archiveFile) return { changed: true, summary: `pull ${o.name}`, operations: [runOp(sh`docker pull ${o.name}`), check] }
  const onHost = archiveOnHost(o.archive)
  const ops: Operation[] = [
    uploadOp(o.archive, onHost, archiveFile, { mode: '0600' }),
    runOp(sh`docker load -i ${onHost}`),
    runOp(sh`rm -f ${onHost}`),
    // The archive must have held the tag asked for.
    check,
  ]
  return { changed: true, summary: `load ${o.name} from ${o.archive}`, operations: ops }
}

export function containerImage(o: ContainerImageOptions): Task {
  const probe = imageFact(o.name)
  const res: Resource = {
    title: `image ${o.name}`,
    facts: () => [probe],
    plan: (facts: FactValues) => {
      const presence = facts.get(probe)
      if (typeof presence !== 'string')
        throw new BerthError(`cannot ask Docker about image ${o.name}: ${presence.unknown}`, { hint: 'is the Docker engine installed and running? (systemctl status docker)' })
      return planImage(o, presence, presence === 'absent' && o.archive ? localFile(o.archive) : undefined)
    },
  }
  return task(res)
}
