// Container images for the lab, written as `docker save` archives without a
// Docker engine on this machine: a manifest.json naming each image's config
// and layer tars, as `docker load` reads them (the image spec's "Docker image
// archive"). Layers shared by several images are stored once, so one archive
// of a whole stand-in Harbor costs one copy of the Debian layer.
import { createHash } from 'node:crypto'
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { localFile } from '../src/resources/upload.ts'
import { run } from './proc.ts'

export interface ImageConfig {
  Entrypoint?: string[]
  Cmd?: string[]
  Env?: string[]
  WorkingDir?: string
  User?: string
}

export interface ContainerImage {
  /** repository:tag, as `docker images` shows it. */
  name: string
  /** Layer tars, lowest first. */
  layers: readonly string[]
  config: ImageConfig
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The image config docker load reads: the run settings and the layers' digests (diff_ids). */
export function imageConfigJson(config: ImageConfig, diffIds: readonly string[]): string {
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { ...config, Env: [PATH_ENV, ...(config.Env ?? [])] },
    rootfs: { type: 'layers', diff_ids: diffIds.map((d) => `sha256:${d}`) },
    history: diffIds.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'berth lab (lab/docker-archive.ts)' })),
  })
}

/** Write `images` into one archive at `out` (gzip when it ends in .gz), replacing it whole. */
export async function writeDockerArchive(out: string, images: readonly ContainerImage[]): Promise<void> {
  const staging = mkdtempSync(join(dirname(out), '.archive-'))
  try {
    const digests = new Map<string, string>()
    for (const layer of new Set(images.flatMap((i) => i.layers))) {
      const digest = localFile(layer).sha256
      digests.set(layer, digest)
      mkdirSync(join(staging, digest))
      try {
        linkSync(layer, join(staging, digest, 'layer.tar'))
      } catch {
        copyFileSync(layer, join(staging, digest, 'layer.tar'))
      }
    }
    const manifest = []
    for (const image of images) {
      const diffIds = image.layers.map((l) => digests.get(l) as string)
      const config = imageConfigJson(image.config, diffIds)
      const configName = `${createHash('sha256').update(config).digest('hex')}.json`
      writeFileSync(join(staging, configName), config)
      manifest.push({ Config: configName, RepoTags: [image.name], Layers: diffIds.map((d) => `${d}/layer.tar`) })
    }
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest))
    const tmp = `${out}.tmp-${process.pid}`
    const compress = out.endsWith('.gz') || out.endsWith('.tgz') ? ['-I', 'gzip -1'] : []
    // Entries named as `docker save` names them (manifest.json, not ./manifest.json).
    await run('tar', [...compress, '--numeric-owner', '-C', staging, '-cf', tmp, ...readdirSync(staging).sort()])
    await run('mv', ['-f', tmp, out])
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}
