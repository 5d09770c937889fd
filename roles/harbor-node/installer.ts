// The offline installer on a node: uploaded, checked and unpacked once into a
// directory of its own per release (a stamp holds the installer's sha256), and
// its images loaded only when the engine lacks one of them. Not install.sh:
// that one loads every image, runs prepare and `down -v` on every run.
import { basename } from 'node:path'
import { BerthError, fact, localFile, quote, ShellCommand, runOp, sh, task, uploadOp, writeOp, type FactValues, type LocalFile, type Plan, type Resource, type Task } from '../../src/index.ts'
import { stampFact } from './stamp.ts'

export interface InstallerOnHost {
  /** The installer on the controller. */
  file: string
  sha256: string
  /** Where it is unpacked: one directory per release. */
  dir: string
}

/** What the unpack leaves beside the installer's files. */
export const INSTALLER_STAMP = '.berth-installer'
/** The images the installer's archive holds, one repository:tag a line (read once from its manifest.json). */
export const IMAGES_LIST = '.berth-images'

/** Pure: unpack unless the stamp names this installer. `local` hashes the controller's file, asked only when it is to be uploaded. */
export function planUnpack(i: InstallerOnHost, stamp: string, local: () => LocalFile): Plan {
  if (stamp === i.sha256) return { changed: false, summary: `${basename(i.file)} unpacked in ${i.dir}` }
  const file = local()
  if (file.sha256 !== i.sha256) throw new BerthError(`${i.file} does not match its sha256 (${i.sha256.slice(0, 12)}…, the file has ${file.sha256.slice(0, 12)}…)`, { hint: 'download the installer again, or give the sha256 of the file you have' })
  const onHost = `/var/tmp/berth-${basename(i.file)}`
  const list = quote(`${i.dir}/${IMAGES_LIST}`)
  return {
    changed: true,
    summary: stamp ? `unpack ${basename(i.file)} over the installer unpacked before (${stamp.slice(0, 12)}…)` : `upload and unpack ${basename(i.file)}`,
    operations: [
      uploadOp(i.file, onHost, file, { mode: '0600' }),
      runOp(sh`mkdir -p ${i.dir}`),
      // The tgz holds harbor/…: its files go straight into the release's directory.
      runOp(sh`tar -xzf ${onHost} -C ${i.dir} --strip-components=1 --no-same-owner`),
      // The images' names, from the archive's manifest.json (docker save format), for the load check.
      runOp(new ShellCommand(`set -- ${quote(i.dir)}/harbor.v*.tar.gz\n[ -f "$1" ] || { echo "no harbor.v*.tar.gz in the installer" >&2; exit 1; }\ntar -xzOf "$1" manifest.json | grep -o '"RepoTags":\\[[^]]*\\]' | sed 's/^"RepoTags":\\[//; s/\\]$//' | tr ',' '\\n' | tr -d '"' > ${list}\n[ -s ${list} ] && ! grep -qvE '^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$' ${list}`)),
      runOp(sh`rm -f ${onHost}`),
      writeOp(`${i.dir}/${INSTALLER_STAMP}`, `${i.sha256}\n`, { mode: '0644' }),
    ],
  }
}

export function unpackInstaller(i: InstallerOnHost): Task {
  const probe = stampFact(`${i.dir}/${INSTALLER_STAMP}`)
  const res: Resource = {
    title: `installer ${basename(i.file)} unpacked in ${i.dir}`,
    facts: () => [probe],
    plan: (facts: FactValues) => planUnpack(i, facts.get(probe), () => localFile(i.file)),
  }
  return task(res)
}

export interface InstallerImages {
  /** The names the installer holds; undefined before it is unpacked. */
  wanted: string[] | undefined
  present: Set<string>
  /** The engine could not be asked (not installed yet). */
  unknown?: string
}

/** The installer's image names and the engine's: one exec; never throws (read before the engine is installed too). */
export function installerImagesFact(dir: string) {
  const list = quote(`${dir}/${IMAGES_LIST}`)
  return fact(
    `harbor-images:${dir}`,
    new ShellCommand(`if [ -f ${list} ]; then cat ${list}; else echo '#none'; fi\necho '#engine'\ndocker images --format '{{.Repository}}:{{.Tag}}' 2>&1 || echo '#unknown'`),
    (o): InstallerImages => {
      const [head = '', engine = ''] = o.stdout.split('#engine\n')
      const wanted = head.trim() === '#none' ? undefined : head.split('\n').filter((l) => l.trim() !== '')
      const lines = engine.split('\n').filter((l) => l.trim() !== '')
      if (lines.at(-1) === '#unknown') return { wanted, present: new Set(), unknown: lines.slice(0, -1).join(' ') || 'docker images failed' }
      return { wanted, present: new Set(lines) }
    },
    { slow: true },
  )
}

/** Pure: load the archive when an image it holds is missing. */
export function planImages(dir: string, images: InstallerImages): Plan {
  if (images.wanted !== undefined && images.unknown === undefined) {
    const missing = images.wanted.filter((n) => !images.present.has(n))
    if (missing.length === 0) return { changed: false, summary: `${images.wanted.length} images present` }
    return { changed: true, summary: `load ${missing.join(', ')}`, operations: [loadOp(dir), runOp(sh`cd ${dir} && xargs -r docker image inspect --format '{{.Id}}' < ${IMAGES_LIST} >/dev/null`)] }
  }
  if (images.unknown !== undefined && images.wanted !== undefined)
    throw new BerthError(`cannot ask Docker which images it has: ${images.unknown}`, { hint: 'is the Docker engine installed and running? (systemctl status docker)' })
  return { changed: true, summary: 'load the installer\'s images (once it is unpacked)', operations: [loadOp(dir)] }
}

const loadOp = (dir: string) => runOp(new ShellCommand(`cd ${quote(dir)} && docker load -i harbor.v*.tar.gz`))

export function installerImages(dir: string): Task {
  const probe = installerImagesFact(dir)
  const res: Resource = { title: `installer images loaded (${dir})`, facts: () => [probe], plan: (facts: FactValues) => planImages(dir, facts.get(probe)) }
  return task(res)
}
