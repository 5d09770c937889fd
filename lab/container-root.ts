// The lab's container layer: one small Debian root with the services that
// stand in for images no registry can give us here (Redis, and the pieces of
// the stand-in Harbor: nginx, the distribution registry, Python for prepare and
// core). Built once with the lab image (same cache entry, same lock), as a
// plain tar that becomes the shared first layer of every lab container image
// (lab/docker-archive.ts). Nothing in roles/ knows about it: roles take an
// image name and, for hosts without a registry, an archive to `docker load`.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInRoot } from './apt-repo.ts'
import { run } from './proc.ts'

/** What the container root holds; part of the image recipe (its hash names the cache entry). */
export const CONTAINER_ROOT_RECIPE = {
  packages: [
    'redis-server',
    'redis-tools',
    'nginx',
    'docker-registry',
    'apache2-utils',
    'python3',
    'python3-yaml',
    'python3-psycopg2',
    'python3-redis',
    'postgresql-client',
    'openssl',
    'curl',
    'ca-certificates',
  ],
  /** Removed after the install: documentation and apt's state, which no container reads. */
  prune: ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/lib/apt/lists', 'var/cache/apt', 'var/log/apt', 'var/log/dpkg.log'],
} as const

/**
 * Bootstrap a minimal root at `dir` from `mirror`, install the recipe's
 * packages without recommends, prune it, and write it as one tar at `layerTar`
 * (numeric owners, as a container layer must have them).
 */
export async function buildContainerLayer(dir: string, layerTar: string, mirror: { primary: string; lines: readonly string[] }, suite: string): Promise<void> {
  await run('debootstrap', ['--variant=minbase', '--components=main', suite, dir, mirror.primary], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  writeFileSync(join(dir, 'etc/apt/sources.list'), mirror.lines.join('\n') + '\n')
  // Packages' maintainer scripts try to start their services; a container root has no init.
  writeFileSync(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  await runInRoot(dir, ['apt-get', 'update', '-qq'])
  await runInRoot(dir, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...CONTAINER_ROOT_RECIPE.packages])
  await runInRoot(dir, ['apt-get', 'clean'])
  rmSync(join(dir, 'usr/sbin/policy-rc.d'))
  writeFileSync(join(dir, 'etc/apt/sources.list'), '# a lab container image: no package sources\n')
  for (const p of CONTAINER_ROOT_RECIPE.prune) rmSync(join(dir, p), { recursive: true, force: true })
  // debootstrap's device nodes and the build's resolver are the container runtime's to provide.
  for (const f of existsSync(join(dir, 'dev')) ? readdirSync(join(dir, 'dev')) : []) rmSync(join(dir, 'dev', f), { recursive: true, force: true })
  writeFileSync(join(dir, 'etc/resolv.conf'), '')
  writeFileSync(join(dir, 'etc/hostname'), '')
  await run('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', layerTar, '.'])
}
