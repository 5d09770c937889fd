// harbor-node: one node of a Harbor in high availability, from the offline
// installer, the way an operator runs install.sh's steps by hand, each only
// when needed: Docker, the installer unpacked per release, its images loaded,
// harbor.yml rendered, the group's key files on the shared data volume,
// preflights (writable primary, shared storage), prepare when harbor.yml
// changed, the pinned secrets over prepare's random ones, compose up, and a
// wait for health. Facts: ../shared/docs/harbor.md and PREPARE-FACTS.md.
import { apt, copy, defineRole, file, localFile, reveal, type Task } from '../../src/index.ts'
import { dockerEngineTasks } from '../docker/engine.ts'
import { renderHarborYml, TLS_DIR, tlsPaths } from './harbor-yml.ts'
import { installerImages, unpackInstaller } from './installer.ts'
import { checkHarborOptions, HARBOR_NODE_DEFAULTS, type Fail, type HarborNodeOptions } from './options.ts'
import { nfsStorageTasks } from './nfs-storage.ts'
import { dataVolumeMounted, databaseIsPrimary, markerDir, pgpassLine, storageShared } from './preflight.ts'
import { harborHealthy, harborUp, pinSecrets, prepare } from './start.ts'

export type { HarborNodeOptions, HarborDatabase, HarborRedis, HarborSecrets, HarborStorage } from './options.ts'
export { requireAgreement, ALLOW_DISAGREEMENT_VAR, type NodeOptions } from './agreement.ts'
export { SUPPORTED_HARBOR_VERSIONS } from './versions.ts'
export { harborHealthUrl } from './start.ts'

/** The directory a release is unpacked into. */
export const releaseDir = (o: Pick<HarborNodeOptions, 'installRoot' | 'version'>): string => `${o.installRoot}/v${o.version}`

/** The packages a node needs, for a playbook that installs every tier's packages in one play first (the role has them too). */
export function harborNodePackages(o: Pick<HarborNodeOptions, 'docker' | 'storage'>): Task[] {
  return [
    ...dockerEngineTasks(o.docker),
    // psql asks the database whether it is a primary; curl asks Harbor whether it is healthy, jq reads its answer.
    apt({ packages: ['postgresql-client', 'curl', 'jq'] }).named('psql, curl and jq for the checks'),
    ...(o.storage.kind === 'nfs' ? [apt({ packages: ['nfs-common'] }).named('NFS client (nfs-common)')] : []),
  ]
}

export const harborNode = defineRole<HarborNodeOptions, typeof HARBOR_NODE_DEFAULTS>({
  name: 'harbor-node',
  defaults: HARBOR_NODE_DEFAULTS,
  required: ['version', 'hostname', 'adminPassword', 'database', 'redis', 'secrets', 'installer'],
  validate: (o, fail) => {
    checkHarborOptions(o, fail as unknown as Fail)
    // On this machine, before any host: the installer is there and is the one its checksum names.
    let actual: string
    try {
      actual = localFile(o.installer.file).sha256
    } catch (e) {
      return fail('installer', `${o.installer.file} cannot be read here: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
    if (actual !== o.installer.sha256)
      fail('installer', `${o.installer.file} does not match its sha256 (expected ${o.installer.sha256.slice(0, 12)}…, the file has ${actual.slice(0, 12)}…)`, 'download it again, or give the sha256 of the file you have')
  },
  tasks: (o): Task[] => {
    const dir = releaseDir(o)
    const dv = o.dataVolume
    const pgpass = `${o.installRoot}/.pgpass`
    const harborYml = renderHarborYml(o)
    const k = o.secrets
    const tasks: Task[] = [
      ...harborNodePackages(o),
      file({ path: o.installRoot, state: 'directory', mode: '0750' }).named('install root'),
      copy({ path: pgpass, content: pgpassLine(o.database), mode: '0600', sensitive: true }).named('database password file for the primary check (0600)'),
      databaseIsPrimary(o.database, pgpass),
    ]
    if (o.storage.kind === 'mounted') tasks.push(dataVolumeMounted(dv))
    else tasks.push(...nfsStorageTasks(dv, o.storage))
    if (o.group && o.group.nodes.length > 1) {
      tasks.push(
        file({ path: markerDir(dv), state: 'directory', mode: '0755' }).named('storage marker directory'),
        copy({ path: `${markerDir(dv)}/${o.group.node}`, content: `${o.group.node}\n`, mode: '0644' }).named(`storage marker of ${o.group.node}`),
        storageShared(dv, o.group.node, o.group.nodes),
      )
    }
    tasks.push(unpackInstaller({ file: o.installer.file, sha256: o.installer.sha256, dir }), installerImages(dir))
    if (o.https) {
      const paths = tlsPaths(o.hostname)
      tasks.push(
        file({ path: TLS_DIR, state: 'directory', mode: '0755' }).named('TLS directory'),
        copy({ path: paths.certificate, content: reveal(o.https.certificate), mode: '0644' }).named('HTTPS certificate'),
        copy({ path: paths.privateKey, content: reveal(o.https.privateKey), mode: '0600', sensitive: true }).named('HTTPS private key (0600)'),
      )
    }
    // The key files every node must share, in place before prepare so that it keeps them (it makes them only when missing).
    // One node writes them: the storage is shared (checked above), and two nodes writing one file at once would race.
    const shared = (t: Task): Task => (o.group && o.group.nodes.length > 1 ? t.runOnce() : t)
    tasks.push(
      ...['secret', 'secret/keys', 'secret/core', 'secret/registry'].map((d) => shared(file({ path: `${dv}/${d}`, state: 'directory', mode: '0755' }).named(`${dv}/${d}`))),
      shared(copy({ path: `${dv}/secret/keys/secretkey`, content: reveal(k.secretKey), owner: '10000', group: '10000', mode: '0600', sensitive: true }).named('secretkey (the key of secrets kept in the database)')),
      shared(copy({ path: `${dv}/secret/core/private_key.pem`, content: reveal(k.tokenPrivateKey), owner: '10000', group: '10000', mode: '0600', sensitive: true }).named('token signing key')),
      shared(copy({ path: `${dv}/secret/registry/root.crt`, content: k.tokenCertificate, owner: '10000', group: '10000', mode: '0644' }).named('token certificate')),
      copy({ path: `${dir}/harbor.yml`, content: harborYml, mode: '0600' }).named('harbor.yml'),
      prepare(dir, harborYml, o.trivy.enabled),
      ...pinSecrets(dir, o),
      harborUp(dir),
      harborHealthy(o),
    )
    return tasks
  },
})
