// The lab's base image: a minimal Debian 12 root with systemd and sshd, and a
// local apt repository of every package the roles install. Built once with
// debootstrap and cached outside the repository under a hash of its recipe
// (/var/cache/berth-lab/image-<hash>/); a changed recipe builds a new one.
//
// A build happens in a temp directory beside the cache and is renamed into
// place only when complete, so a killed build never leaves a half image that
// looks finished; the next build (or `lab down`) clears the leftovers.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_PATH_IN_IMAGE, REPO_SOURCE_LINE, downloadPackages, runInRoot, writeRepoIndex } from './apt-repo.ts'
import { HOST_TOOLS, IMAGE_TOOLS, LabError, requireTools } from './errors.ts'
import { STATE_ROOT } from './lab-config.ts'
import { CONTAINER_ROOT_RECIPE, buildContainerLayers } from './container-root.ts'
import { debianMirror } from './mirror.ts'
import { allProcesses, mountsMention, run, signal, waitGone } from './proc.ts'
import { Progress, type Step } from './progress.ts'
import { LabLock, readRecord } from './state.ts'

export const CACHE_ROOT = '/var/cache/berth-lab'

/**
 * Everything that decides the image's content. Its hash names the cache
 * entry; bump `version` when the build steps below change meaning.
 */
export const RECIPE = {
  version: 2,
  suite: 'bookworm',
  variant: 'minbase',
  /** In the base root itself (debootstrap --include). */
  include: ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'sudo', 'procps', 'ca-certificates', 'curl'],
  /** In the local apt repository, with their dependencies: what the roles install. */
  repoPackages: [
    'postgresql',
    'postgresql-15',
    'postgresql-client',
    'postgresql-client-15',
    'postgresql-contrib',
    'keepalived',
    'nfs-kernel-server',
    'nfs-common',
    'nfs-ganesha',
    'nfs-ganesha-vfs',
    'rpcbind',
    'libnfs-utils',
    'redis-server',
    'redis-tools',
    'docker.io',
    'docker-compose',
    'jq',
  ],
  /** As a default `apt-get install` in a host would: the repository must hold recommends too. */
  installRecommends: true,
  /** Timers that would run apt behind a role's back (and fail offline). */
  maskUnits: ['apt-daily.timer', 'apt-daily-upgrade.timer', 'apt-daily.service', 'apt-daily-upgrade.service'],
  /** The first layer of the lab's container images (lab/container-root.ts). */
  containerRoot: CONTAINER_ROOT_RECIPE,
} as const

export function recipeHash(recipe: object = RECIPE): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16)
}

export interface ImageInfo {
  hash: string
  dir: string
  /** The root tree hosts use as their read-only lower layer. */
  root: string
  builtAt: string
  buildSeconds: number
  repoPackages: number
  repoMegabytes: number
  /** The lab's container images' shared Debian layer (a tar). */
  containerLayer: string
  /** The database stand-ins' layer (MariaDB, PostgreSQL): a root of its own, as big as the other. */
  databaseLayer: string
}

const CONTAINER_LAYER = 'container-layer.tar'
const DATABASE_LAYER = 'database-layer.tar'

export const imageDir = (hash: string = recipeHash()): string => join(CACHE_ROOT, `image-${hash}`)

export function readImage(dir: string): ImageInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8')) as ImageInfo
  } catch {
    return undefined
  }
}

export type Log = (line: string) => void

export interface ImageOptions {
  rebuild?: boolean
  /** Messages (default: stderr). */
  log?: Log
  /** The build's stages; default: plain lines through `log`. */
  progress?: Progress
}

/** The current recipe's image: the cached one, or a fresh build. */
export async function ensureImage(opts: ImageOptions = {}): Promise<ImageInfo> {
  const dir = imageDir()
  if (!opts.rebuild) {
    const cached = readImage(dir)
    if (cached) return cached
  }
  return buildImage(opts)
}

/** Mount points at or below `dir`, deepest first (from this process's mount table). */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8')
  const points = text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as octal
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'))
  return [...new Set(points)].sort((a, b) => b.length - a.length)
}

/**
 * Remove a directory tree that processes may still use and that may hold
 * mounts (a build killed mid-debootstrap leaves its /proc and /sys mounted):
 * kill those processes, unmount, then delete. Never deletes through a mount.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  const users = allProcesses().filter((p) => p.pid !== process.pid && (p.argv.some((a) => a.includes(dir)) || mountsMention(p.pid, ` ${dir}/`)))
  for (const p of users) signal(p.pid, 'SIGKILL')
  await waitGone(
    users.map((p) => p.pid),
    5000,
  )
  for (const m of mountsUnder(dir)) await run('umount', ['--lazy', m], { allowFail: true })
  const left = mountsUnder(dir)
  if (left.length > 0) throw new LabError(`cannot remove ${dir}: ${left[0]} is still mounted`, { hint: `umount -l ${left[0]}` })
  rmSync(dir, { recursive: true, force: true })
}

/** Build directories whose builder is gone (none, when the image lock is free). */
async function removeStaleBuilds(log: Log): Promise<void> {
  if (!existsSync(CACHE_ROOT)) return
  for (const name of readdirSync(CACHE_ROOT).filter((n) => n.startsWith('.build-'))) {
    log(`image: removing an unfinished build ${join(CACHE_ROOT, name)}`)
    await removeTree(join(CACHE_ROOT, name))
  }
}

/**
 * Clear unfinished builds if no build is running (the image lock is free).
 * Used by `lab down`, which promises to leave no temp dirs behind.
 */
export async function cleanStaleBuilds(log: Log): Promise<void> {
  if (!existsSync(CACHE_ROOT)) return
  if (!readdirSync(CACHE_ROOT).some((n) => n.startsWith('.build-'))) return
  let lock: LabLock
  try {
    lock = await LabLock.acquire(CACHE_ROOT, 'lab down: clear unfinished image builds', 0)
  } catch {
    return // a build is running; its directory is not stale
  }
  try {
    await removeStaleBuilds(log)
  } finally {
    await lock.release()
  }
}

/** Images no lab's record points at, other than `keep`. */
async function pruneImages(keep: string, log: Log): Promise<void> {
  const inUse = new Set<string>([keep])
  if (existsSync(STATE_ROOT)) for (const lab of readdirSync(STATE_ROOT)) {
    const rec = readRecord(join(STATE_ROOT, lab))
    if (rec) inUse.add(rec.imageDir)
  }
  for (const name of readdirSync(CACHE_ROOT).filter((n) => n.startsWith('image-'))) {
    const dir = join(CACHE_ROOT, name)
    if (inUse.has(dir)) continue
    log(`image: removing the outdated image ${dir}`)
    await removeTree(dir)
  }
}

function duSizeBytes(dir: string): number {
  let total = 0
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size
  return total
}

/** While `fn` runs, show how many .deb files have arrived in `dir` (apt downloads them complete into partial/ first). */
async function watchDebs<T>(step: Step, dir: string, verb: string, fn: () => Promise<T>): Promise<T> {
  const count = (): void => {
    let n = 0
    try {
      n = readdirSync(dir).filter((f) => f.endsWith('.deb')).length
    } catch {
      return // not made yet
    }
    if (n > 0) step.update(`${n} .deb files ${verb}`)
  }
  const id = setInterval(count, 1000)
  try {
    return await fn()
  } finally {
    clearInterval(id)
    count()
  }
}

/** Build the image for the current recipe (under the cache lock, so two labs never build at once). */
export async function buildImage(opts: ImageOptions = {}): Promise<ImageInfo> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'))
  const progress = opts.progress ?? Progress.lines(log)
  requireTools([...HOST_TOOLS, ...IMAGE_TOOLS])
  const mirror = debianMirror(RECIPE.suite)
  mkdirSync(CACHE_ROOT, { recursive: true })
  const lock = await LabLock.acquire(CACHE_ROOT, 'building the lab image')
  try {
    const hash = recipeHash()
    const finalDir = imageDir(hash)
    // Another lab may have built it while we waited for the lock.
    const ready = readImage(finalDir)
    if (ready && !opts.rebuild) return ready
    if (ready && allProcesses().some((p) => mountsMention(p.pid, `${finalDir}/`)))
      throw new LabError(`lab hosts are running on the image ${finalDir}; it cannot be rebuilt under them`, { hint: 'stop the lab first: npm run lab -- down' })
    await removeStaleBuilds(log)

    const started = performance.now()
    const stage = <T>(title: string, fn: (step: Step) => Promise<T>, result?: (v: T) => string | undefined): Promise<T> => progress.task(`image: ${title}`, fn, result)
    const tmp = join(CACHE_ROOT, `.build-${hash}-${process.pid}`)
    const root = join(tmp, 'root')
    mkdirSync(tmp, { recursive: true })
    progress.line(`image: building ${hash} (the recipe in lab/image.ts) from this machine's Debian mirror: about a minute, mostly debootstrap`)

    await stage(`debootstrap ${RECIPE.suite} (${RECIPE.variant})`, (s) =>
      run(
        'debootstrap',
        [`--variant=${RECIPE.variant}`, '--components=main', `--include=${RECIPE.include.join(',')}`, RECIPE.suite, root, mirror.primary],
        {
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
          // Its "I: Retrieving/Unpacking/Configuring PACKAGE..." lines say where it is.
          onLine: (l) => {
            if (l.startsWith('I: ')) s.update(l.slice(3).trim().replace(/\.{3}$/, ''))
          },
        },
      ),
      () => 'base system installed',
    )

    await stage('configuring the base root', async () => {
      // Host keys and machine id are made per host; sharing the base image's
      // would make every host look like the same machine to ssh and journald.
      for (const f of readdirSync(join(root, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_'))) rmSync(join(root, 'etc/ssh', f))
      writeFileSync(join(root, 'etc/machine-id'), '')
      writeFileSync(join(root, 'etc/hostname'), 'localhost\n')
      writeFileSync(join(root, 'etc/resolv.conf'), '# lab hosts have no DNS; lab host names are in /etc/hosts\n')
      // dpkg's fsync per file makes installs several times slower on the
      // overlay roots; lab hosts are disposable, so trade durability for speed.
      writeFileSync(join(root, 'etc/dpkg/dpkg.cfg.d/berth-lab-unsafe-io'), '# berth lab: hosts are disposable\nforce-unsafe-io\n')
      mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 })
      await runInRoot(root, ['systemctl', 'enable', 'systemd-networkd.service'])
      await runInRoot(root, ['systemctl', 'mask', ...RECIPE.maskUnits])
    })

    const repoDir = join(root, REPO_PATH_IN_IMAGE.slice(1))
    await stage(`downloading ${RECIPE.repoPackages.length} packages and their dependencies`, (s) => {
      mkdirSync(repoDir, { recursive: true, mode: 0o755 })
      return watchDebs(s, repoDir, 'downloaded', () => downloadPackages(root, mirror.lines, RECIPE.repoPackages, RECIPE.installRecommends))
    })

    const index = await stage('indexing the apt repository', () => writeRepoIndex(repoDir), (i) => `${i.packages} packages`)

    await stage('pointing apt at the local repository only, checked offline', async () => {
      writeFileSync(join(root, 'etc/apt/sources.list'), `# berth lab: the image's local repository, no network needed\n${REPO_SOURCE_LINE}\n`)
      const listD = join(root, 'etc/apt/sources.list.d')
      if (existsSync(listD)) for (const f of readdirSync(listD)) rmSync(join(listD, f), { recursive: true, force: true })
      rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true })
      mkdirSync(join(root, 'var/lib/apt/lists/partial'), { recursive: true })
      // Hosts start with the index already read, so `apt-get install` works before any `apt-get update`.
      await runInRoot(root, ['apt-get', 'update', '-qq'], { offline: true })
      await runInRoot(root, ['apt-get', 'install', '--simulate', '-qq', ...RECIPE.repoPackages], { offline: true })
      await runInRoot(root, ['apt-get', 'clean'], { offline: true })
    })

    await stage(`container layers: ${RECIPE.containerRoot.packages.length} + ${RECIPE.containerRoot.databasePackages.length} packages for the lab's stand-in images`, async () => {
      const containerRoot = join(tmp, 'container-root')
      const databaseRoot = join(tmp, 'database-root')
      await buildContainerLayers(containerRoot, join(tmp, CONTAINER_LAYER), databaseRoot, join(tmp, DATABASE_LAYER), mirror, RECIPE.suite)
      await removeTree(containerRoot)
      await removeTree(databaseRoot)
    }, () => `${Math.round(statSync(join(tmp, CONTAINER_LAYER)).size / 1e6)} + ${Math.round(statSync(join(tmp, DATABASE_LAYER)).size / 1e6)} MB`)

    // debootstrap and systemctl wrote the build's own host name and resolver; undo.
    writeFileSync(join(root, 'etc/resolv.conf'), '# lab hosts have no DNS; lab host names are in /etc/hosts\n')
    const info: ImageInfo = {
      hash,
      dir: finalDir,
      root: join(finalDir, 'root'),
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((performance.now() - started) / 100) / 10,
      repoPackages: index.packages,
      repoMegabytes: Math.round(duSizeBytes(join(root, REPO_PATH_IN_IMAGE.slice(1))) / 1e5) / 10,
      containerLayer: join(finalDir, CONTAINER_LAYER),
      databaseLayer: join(finalDir, DATABASE_LAYER),
    }
    writeFileSync(join(tmp, 'image.json'), JSON.stringify({ ...info, recipe: RECIPE }, null, 2) + '\n')
    if (existsSync(finalDir)) {
      // --rebuild: move the old one aside first; rename cannot replace a non-empty directory.
      const old = join(CACHE_ROOT, `.build-old-${hash}-${process.pid}`)
      renameSync(finalDir, old)
      renameSync(tmp, finalDir)
      await removeTree(old)
    } else renameSync(tmp, finalDir)
    progress.line(`image: ready: ${finalDir}, ${info.repoPackages} packages (${info.repoMegabytes} MB) in its repository (${info.buildSeconds} s)`)
    await pruneImages(finalDir, log)
    return info
  } finally {
    await lock.release()
  }
}

/** Make sure an image directory is usable before hosts boot from it. */
export function checkImage(info: ImageInfo): void {
  if (!existsSync(join(info.root, 'usr/lib/systemd/systemd')))
    throw new LabError(`the lab image ${info.dir} is incomplete (no systemd in it)`, { hint: 'rebuild it: npm run lab -- image --rebuild' })
}

