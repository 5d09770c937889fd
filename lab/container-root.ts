// The lab's container layers: small Debian roots with the services that stand
// in for images no registry can give us here (Redis, and the pieces of the
// stand-in Harbor: nginx, the distribution registry, Python for prepare and
// core), and, apart, the databases (MariaDB for mysql:5.7, PostgreSQL). Built once with the lab image (same cache entry, same lock), as a
// plain tar that becomes the shared first layer of every lab container image
// (lab/docker-archive.ts). Nothing in roles/ knows about it: roles take an
// image name and, for hosts without a registry, an archive to `docker load`.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInRoot } from './apt-repo.ts'
import { run } from './proc.ts'

/**
 * What the container roots hold; part of the image recipe (its hash names the
 * cache entry). Two roots from one bootstrap: the services' (Redis and the
 * stand-in Harbor's pieces), and the databases' (MariaDB for mysql:5.7,
 * PostgreSQL 15), kept apart because they weigh more than everything else
 * together and only the storage node loads them.
 */
export const CONTAINER_ROOT_RECIPE = {
  packages: ['redis-server', 'redis-tools', 'nginx', 'docker-registry', 'apache2-utils', 'python3', 'python3-yaml', 'python3-psycopg2', 'python3-redis', 'postgresql-client', 'openssl', 'curl', 'ca-certificates'],
  /** mysql, mysqladmin and mysqldump are MariaDB's compatible names. */
  databasePackages: ['mariadb-server', 'mariadb-client', 'postgresql-15'],
  /**
   * Removed after the install: documentation and apt's state, which no container
   * reads, and the databases Debian's packages make when installed (the images'
   * entrypoints make theirs in the volume).
   */
  prune: ['var/lib/mysql', 'var/lib/postgresql', 'etc/postgresql', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'var/lib/apt/lists', 'var/cache/apt', 'var/log/apt', 'var/log/dpkg.log'],
} as const

type Mirror = { primary: string; lines: readonly string[] }

/** Install `packages` without recommends into a bootstrapped root, prune it, and write it as one tar (numeric owners, as a container layer must have them). */
async function finishLayer(dir: string, layerTar: string, mirror: Mirror, packages: readonly string[]): Promise<void> {
  writeFileSync(join(dir, 'etc/apt/sources.list'), mirror.lines.join('\n') + '\n')
  // Packages' maintainer scripts try to start their services; a container root has no init.
  writeFileSync(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  await runInRoot(dir, ['apt-get', 'update', '-qq'])
  await runInRoot(dir, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages])
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

/**
 * Bootstrap a minimal root at `dir` from `mirror` once, copy it to `databaseDir`,
 * and make the two layers: the services' at `layerTar`, the databases' at `databaseTar`.
 */
export async function buildContainerLayers(dir: string, layerTar: string, databaseDir: string, databaseTar: string, mirror: Mirror, suite: string): Promise<void> {
  await run('debootstrap', ['--variant=minbase', '--components=main', suite, dir, mirror.primary], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  await run('cp', ['-a', dir, databaseDir])
  await finishLayer(dir, layerTar, mirror, CONTAINER_ROOT_RECIPE.packages)
  await finishLayer(databaseDir, databaseTar, mirror, CONTAINER_ROOT_RECIPE.databasePackages)
}
