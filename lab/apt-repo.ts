// The local apt repository inside the lab image: every package the roles
// install, with all their dependencies and recommends, downloaded once from
// this machine's Debian mirror, plus a flat index (Packages, Release). Lab hosts'
// apt sources point only at it, so `apt-get install` in a host is real and
// needs no network.
import { createHash } from 'node:crypto'
import { chmodSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { LabError } from './errors.ts'
import { run, tail } from './proc.ts'

/** Where the repository sits inside the image (and so inside every host). */
export const REPO_PATH_IN_IMAGE = '/var/lib/berth-repo'
/** The only apt source lab hosts have. trusted=yes: the repository is local and unsigned. */
export const REPO_SOURCE_LINE = `deb [trusted=yes] file:${REPO_PATH_IN_IMAGE} ./`

export interface InRootOptions {
  /** No network inside (the offline check). */
  offline?: boolean
  echo?: boolean
}

/**
 * Run a command inside a root tree with systemd-nspawn (not --boot): it sets
 * up /proc, /dev and /sys in a private mount namespace, so a killed build
 * leaves no mount behind on the machine, unlike chroot plus bind mounts.
 */
export async function runInRoot(root: string, argv: readonly string[], opts: InRootOptions = {}): Promise<string> {
  const args = [
    '--quiet',
    '--register=no',
    '--keep-unit',
    '--settings=no',
    `--directory=${root}`,
    `--machine=berth-build-${process.pid}`,
    '--timezone=off',
    '--link-journal=no',
    '--pipe',
    '--setenv=DEBIAN_FRONTEND=noninteractive',
    '--setenv=LC_ALL=C.UTF-8',
    opts.offline ? '--private-network' : '--resolv-conf=replace-host',
    '--',
    ...argv,
  ]
  const r = await run('systemd-nspawn', args, { allowFail: true, ...(opts.echo ? { echo: true } : {}) })
  if (r.code !== 0)
    throw new LabError(`in the image build root: \`${argv.join(' ')}\` failed (exit ${r.code ?? 'signal'}): ${tail(r.stderr + '\n' + r.stdout, 15)}`)
  return r.stdout
}

/**
 * Download `packages` and everything they pull in (as a default `apt-get
 * install` would, recommends included) into the repository directory of
 * `root`, using the machine's mirror lines for the duration of the download.
 */
export async function downloadPackages(root: string, mirrorLines: readonly string[], packages: readonly string[], installRecommends: boolean): Promise<void> {
  writeFileSync(join(root, 'etc/apt/sources.list'), mirrorLines.join('\n') + '\n')
  await runInRoot(root, ['apt-get', 'update', '-qq'])
  await runInRoot(root, [
    'apt-get',
    'install',
    '-y',
    '-qq',
    '--download-only',
    `-o`,
    `APT::Install-Recommends=${installRecommends}`,
    '-o',
    `Dir::Cache::archives=${REPO_PATH_IN_IMAGE}/`,
    ...packages,
  ])
  const repo = join(root, REPO_PATH_IN_IMAGE.slice(1))
  rmSync(join(repo, 'partial'), { recursive: true, force: true })
  rmSync(join(repo, 'lock'), { force: true })
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

export interface RepoIndex {
  packages: number
  bytes: number
}

/**
 * Write the flat repository's index: `Packages` (each .deb's control fields
 * from `dpkg-deb -f`, plus Filename, Size and hashes), `Packages.gz`, and a
 * `Release` listing their hashes, which is what apt checks.
 */
export async function writeRepoIndex(repoDir: string): Promise<RepoIndex> {
  const debs = readdirSync(repoDir)
    .filter((f) => f.endsWith('.deb'))
    .sort()
  if (debs.length === 0) throw new LabError(`the lab's apt repository ${repoDir} holds no .deb files`)
  let bytes = 0
  const stanzas = await mapLimit(debs, 4, async (f) => {
    const path = join(repoDir, f)
    const control = (await run('dpkg-deb', ['--field', path])).stdout.trimEnd()
    const data = readFileSync(path)
    bytes += data.length
    chmodSync(path, 0o644) // apt's sandbox user (_apt) reads file: repositories
    return [
      control,
      `Filename: ./${f}`,
      `Size: ${data.length}`,
      `MD5sum: ${createHash('md5').update(data).digest('hex')}`,
      `SHA256: ${createHash('sha256').update(data).digest('hex')}`,
    ].join('\n')
  })
  const packages = Buffer.from(stanzas.join('\n\n') + '\n')
  const packagesGz = gzipSync(packages, { level: 9 })
  writeFileSync(join(repoDir, 'Packages'), packages, { mode: 0o644 })
  writeFileSync(join(repoDir, 'Packages.gz'), packagesGz, { mode: 0o644 })
  const files: Array<[string, Buffer]> = [
    ['Packages', packages],
    ['Packages.gz', packagesGz],
  ]
  const sums = (algo: 'md5' | 'sha256'): string =>
    files.map(([name, body]) => ` ${createHash(algo).update(body).digest('hex')} ${String(body.length).padStart(10)} ${name}`).join('\n')
  const release = [
    'Origin: berth-lab',
    'Label: berth-lab',
    'Suite: berth-lab',
    'Codename: berth-lab',
    `Date: ${new Date().toUTCString()}`,
    'Architectures: amd64 all',
    'Description: the berth lab image: role packages and their dependencies',
    'MD5Sum:',
    sums('md5'),
    'SHA256:',
    sums('sha256'),
  ].join('\n')
  writeFileSync(join(repoDir, 'Release'), release + '\n', { mode: 0o644 })
  return { packages: debs.length, bytes: bytes + statSync(join(repoDir, 'Packages')).size }
}
