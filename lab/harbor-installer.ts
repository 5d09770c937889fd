// The lab's STAND-IN Harbor offline installer. Harbor's images cannot be
// fetched here, so the lab makes an installer with the real one's layout
// (harbor/ with harbor.v<version>.tar.gz of images for `docker load`, prepare,
// install.sh, common.sh, harbor.yml.tmpl, LICENSE) from the lab's Debian
// container layer plus the small stand-ins in lab/harbor-standin/: prepare.py,
// core.py, nginx, and Debian's docker-registry (distribution). harbor-node
// installs it as it installs a real one; nothing in roles/ knows about it.
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeDockerArchive, type ContainerImage } from './docker-archive.ts'
import { run } from './proc.ts'

/** The release the stand-in claims to be (its prepare requires that release's keys). */
export const LAB_HARBOR_VERSION = '2.11.2'
export const LAB_HARBOR_INSTALLER = `harbor-offline-installer-v${LAB_HARBOR_VERSION}.tgz`

const STANDIN_DIR = fileURLToPath(new URL('./harbor-standin/', import.meta.url))
const IN_IMAGE = '/usr/local/lib/berth-standin'

/** What the installer is made from, for the artifacts' input hash. */
export function standinInputs(): string {
  const h = createHash('sha256').update(LAB_HARBOR_VERSION)
  for (const f of readdirSync(STANDIN_DIR).sort()) h.update(f).update('\0').update(readFileSync(join(STANDIN_DIR, f)))
  return h.digest('hex')
}

const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.')
const withVersion = (text: string): string => text.replaceAll('HARBOR_VERSION', LAB_HARBOR_VERSION).replaceAll('HARBOR_MINOR', minorOf(LAB_HARBOR_VERSION))

function standinImages(layers: readonly string[]): ContainerImage[] {
  const tag = `v${LAB_HARBOR_VERSION}`
  return [
    { name: `berth-lab/harbor-prepare:${tag}`, layers, config: { Entrypoint: ['python3', `${IN_IMAGE}/prepare.py`], Cmd: ['prepare'], Env: [`HARBOR_VERSION=${LAB_HARBOR_VERSION}`] } },
    { name: `berth-lab/harbor-core:${tag}`, layers, config: { Cmd: ['python3', `${IN_IMAGE}/core.py`], Env: ['PYTHONUNBUFFERED=1'] } },
    { name: `berth-lab/harbor-registry:${tag}`, layers, config: { Entrypoint: ['/usr/bin/docker-registry'], Cmd: ['serve', '/etc/registry/config.yml'] } },
    { name: `berth-lab/harbor-nginx:${tag}`, layers, config: { Cmd: ['nginx', '-c', '/etc/nginx/harbor/nginx.conf', '-g', 'daemon off;'] } },
  ]
}

/** tar flags for a layer or bundle that is the same bytes however often it is made. */
export const TAR_STABLE = ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0']

/** Write the installer at `out` (and `out`.sha256, as sha256sum prints it) from the lab's container layer. */
export async function buildHarborInstaller(containerLayer: string, out: string): Promise<void> {
  const work = mkdtempSync(join(dirname(out), '.harbor-installer-'))
  try {
    // The stand-ins' own layer: two Python files on top of the Debian layer.
    const files = join(work, 'layer')
    mkdirSync(join(files, IN_IMAGE.slice(1)), { recursive: true })
    for (const f of ['prepare.py', 'core.py']) {
      copyFileSync(join(STANDIN_DIR, f), join(files, IN_IMAGE.slice(1), f))
      chmodSync(join(files, IN_IMAGE.slice(1), f), 0o755)
    }
    const layer = join(work, 'standin-layer.tar')
    await run('tar', [...TAR_STABLE, '-C', files, '-cf', layer, '.'])

    const bundle = join(work, 'bundle', 'harbor')
    mkdirSync(bundle, { recursive: true })
    await writeDockerArchive(join(bundle, `harbor.v${LAB_HARBOR_VERSION}.tar.gz`), standinImages([containerLayer, layer]))
    for (const [f, mode] of [['prepare', 0o755], ['install.sh', 0o755], ['common.sh', 0o644], ['harbor.yml.tmpl', 0o644]] as const) {
      writeFileSync(join(bundle, f), withVersion(readFileSync(join(STANDIN_DIR, f), 'utf8')), { mode })
    }
    writeFileSync(join(bundle, 'LICENSE'), "The berth lab's stand-in for Harbor's offline installer: Debian packages and berth's lab/harbor-standin/, not Harbor.\n")
    const tmp = `${out}.tmp-${process.pid}`
    await run('tar', [...TAR_STABLE, '-I', 'gzip -1 -n', '-C', join(work, 'bundle'), '-cf', tmp, 'harbor'])
    const sha256 = (await run('sha256sum', [tmp])).stdout.split(' ')[0]
    await run('mv', ['-f', tmp, out])
    writeFileSync(`${out}.sha256`, `${sha256}  ${basename(out)}\n`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
