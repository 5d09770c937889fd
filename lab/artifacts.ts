// What the lab gives playbooks in place of a registry: image archives and the
// stand-in Harbor offline installer (lab/harbor-installer.ts), made from the lab
// image's container layer and kept at stable paths that inventory/lab.yml
// names. Rebuilt only when their inputs change (a hash in artifacts.json).
//
// These are the lab's stand-ins, not berth's: roles take an image name and an
// archive to load where no registry is reachable, as an air-gapped site would.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeDockerArchive, type ContainerImage, type ImageConfig } from './docker-archive.ts'
import { buildHarborInstaller, LAB_HARBOR_INSTALLER, standinInputs } from './harbor-installer.ts'
import type { ImageInfo, Log } from './image.ts'

export const ARTIFACTS_DIR = '/var/cache/berth-lab/artifacts'

interface ArchiveSpec {
  /** File name under ARTIFACTS_DIR. */
  file: string
  images: readonly { name: string; config: ImageConfig }[]
}

/** The lab's image archives. Redis: Debian's redis-server 7.0, standing in for the `redis:7` image. */
export const LAB_ARCHIVES: readonly ArchiveSpec[] = [
  {
    file: 'redis-7.0.tar',
    // As the official image: redis-server on the command line the compose file gives, data under /data.
    images: [{ name: 'berth-lab/redis:7.0', config: { Cmd: ['redis-server'], WorkingDir: '/data' } }],
  },
]

/** Bumped when lab/docker-archive.ts or lab/harbor-installer.ts write differently: the archives are made anew. */
const ARCHIVE_FORMAT = 2

export const artifactPath = (file: string): string => join(ARTIFACTS_DIR, file)

function inputsHash(image: ImageInfo): string {
  return createHash('sha256').update(JSON.stringify({ format: ARCHIVE_FORMAT, layer: image.hash, archives: LAB_ARCHIVES, harbor: standinInputs() })).digest('hex').slice(0, 16)
}

/** Make the archives for `image` unless the ones there were made from the same inputs. */
export async function ensureArtifacts(image: ImageInfo, log: Log): Promise<void> {
  const stamp = join(ARTIFACTS_DIR, 'artifacts.json')
  const hash = inputsHash(image)
  try {
    if ((JSON.parse(readFileSync(stamp, 'utf8')) as { hash?: string }).hash === hash) return
  } catch {
    // none yet
  }
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const started = performance.now()
  for (const spec of LAB_ARCHIVES) {
    const images: ContainerImage[] = spec.images.map((i) => ({ name: i.name, layers: [image.containerLayer], config: i.config }))
    await writeDockerArchive(artifactPath(spec.file), images)
  }
  await buildHarborInstaller(image.containerLayer, artifactPath(LAB_HARBOR_INSTALLER))
  writeFileSync(stamp, JSON.stringify({ hash, image: image.hash, files: [...LAB_ARCHIVES.map((a) => a.file), LAB_HARBOR_INSTALLER] }, null, 2) + '\n')
  log(`lab: image archives for playbooks in ${ARTIFACTS_DIR} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
}
