// What the lab gives playbooks in place of a registry: image archives and the
// stand-in Harbor offline installer (lab/harbor-installer.ts), made from the lab
// image's container layer and kept at stable paths that inventory/lab.yml
// names. Rebuilt only when their inputs change (a hash in artifacts.json).
//
// These are the lab's stand-ins, not berth's: roles take an image name and an
// archive to load where no registry is reachable, as an air-gapped site would.
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeDockerArchive, type ContainerImage, type ImageConfig } from './docker-archive.ts'
import { run } from './proc.ts'
import { buildHarborInstaller, LAB_HARBOR_INSTALLER, standinInputs, TAR_STABLE } from './harbor-installer.ts'
import type { ImageInfo, Log } from './image.ts'

export const ARTIFACTS_DIR = '/var/cache/berth-lab/artifacts'

interface ArchiveSpec {
  /** File name under ARTIFACTS_DIR. */
  file: string
  images: readonly { name: string; config: ImageConfig }[]
  /** The databases' Debian layer and, on top, the layer of lab/database-standin/'s entrypoints (else the services' layer). */
  databases?: boolean
}

/** Seed 000's dump of the old single-node Harbor's database, for the MySQL variant's import: a lab stand-in. */
export const LAB_REGISTRY_DUMP = 'harbor-1.5-registry.sql'
const REGISTRY_DUMP_SOURCE = fileURLToPath(new URL(`./${LAB_REGISTRY_DUMP}`, import.meta.url))

/** The database stand-ins' entrypoints, in their images. */
const DATABASE_STANDIN_DIR = fileURLToPath(new URL('./database-standin/', import.meta.url))
const STANDIN_BIN = '/usr/local/lib/berth-standin'

/**
 * The lab's image archives, each holding STAND-INs for images no registry can
 * give us here, with the contract the roles rely on (command line, volumes, the
 * environment that sets a password):
 * - Redis: Debian's redis-server 7.0, for `redis:7`;
 * - the databases, in one archive (one copy of their layer to upload):
 *   Debian's MariaDB 10.11 for `mysql:5.7` (as seed 000 runs it), and
 *   Debian's PostgreSQL 15 for `postgres:15`.
 */
export const LAB_ARCHIVES: readonly ArchiveSpec[] = [
  {
    file: 'redis-7.0.tar',
    // As the official image: redis-server on the command line the compose file gives, data under /data.
    images: [{ name: 'berth-lab/redis:7.0', config: { Cmd: ['redis-server'], WorkingDir: '/data' } }],
  },
  {
    file: 'databases.tar',
    images: [
      { name: 'berth-lab/mysql:5.7', config: { Entrypoint: [`${STANDIN_BIN}/mysql-entrypoint.sh`], Cmd: ['mysqld'] } },
      { name: 'berth-lab/postgres:15', config: { Entrypoint: [`${STANDIN_BIN}/postgres-entrypoint.sh`], Cmd: ['postgres'], Env: ['PGDATA=/var/lib/postgresql/data'] } },
    ],
    databases: true,
  },
]

function databaseStandinInputs(): string {
  const h = createHash('sha256')
  for (const f of readdirSync(DATABASE_STANDIN_DIR).sort()) h.update(f).update('\0').update(readFileSync(join(DATABASE_STANDIN_DIR, f)))
  h.update(readFileSync(REGISTRY_DUMP_SOURCE))
  return h.digest('hex')
}

/** The entrypoints as one layer tar (stable: numeric root owner, fixed mtime). */
async function databaseStandinLayer(work: string): Promise<string> {
  const root = join(work, 'root', STANDIN_BIN.slice(1))
  mkdirSync(root, { recursive: true })
  for (const f of readdirSync(DATABASE_STANDIN_DIR)) {
    copyFileSync(join(DATABASE_STANDIN_DIR, f), join(root, f))
    chmodSync(join(root, f), 0o755)
  }
  const tar = join(work, 'database-standin.tar')
  await run('tar', [...TAR_STABLE, '-C', join(work, 'root'), '-cf', tar, '.'])
  return tar
}

/** Bumped when lab/docker-archive.ts or lab/harbor-installer.ts write differently: the archives are made anew. */
const ARCHIVE_FORMAT = 3

export const artifactPath = (file: string): string => join(ARTIFACTS_DIR, file)

function inputsHash(image: ImageInfo): string {
  return createHash('sha256').update(JSON.stringify({ format: ARCHIVE_FORMAT, layer: image.hash, archives: LAB_ARCHIVES, harbor: standinInputs(), databases: databaseStandinInputs() })).digest('hex').slice(0, 16)
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
  const work = mkdtempSync(join(ARTIFACTS_DIR, '.standin-'))
  try {
    const standin = await databaseStandinLayer(work)
    for (const spec of LAB_ARCHIVES) {
      const layers = spec.databases ? [image.databaseLayer, standin] : [image.containerLayer]
      const images: ContainerImage[] = spec.images.map((i) => ({ name: i.name, layers, config: i.config }))
      await writeDockerArchive(artifactPath(spec.file), images)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  await buildHarborInstaller(image.containerLayer, artifactPath(LAB_HARBOR_INSTALLER))
  copyFileSync(REGISTRY_DUMP_SOURCE, artifactPath(LAB_REGISTRY_DUMP))
  writeFileSync(stamp, JSON.stringify({ hash, image: image.hash, files: [...LAB_ARCHIVES.map((a) => a.file), LAB_HARBOR_INSTALLER, LAB_REGISTRY_DUMP] }, null, 2) + '\n')
  log(`lab: image archives for playbooks in ${ARTIFACTS_DIR} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
}
