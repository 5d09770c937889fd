// npm run drill -- NAME [FLAGS...]: a disaster-recovery drill on the local lab,
// from a fresh converge: the hosts it needs are brought up, the playbook that
// builds the system runs (converging whatever an earlier drill left), then the
// drill's playbook runs with the lab inventory and FLAGS. Its report lands in
// drill-reports/; the exit code is the drill's verdict (0 passed, 6 failed,
// 7 aborted). The lab stays up afterwards for a look around.
import { $ } from 'zx'
import { Lab, DEFAULT_INVENTORY } from './lab.ts'
import { Progress, finalSeconds } from './progress.ts'
import { BerthError } from '../src/errors.ts'
import { ensurePrerequisites } from './prerequisites.ts'
import { LabError } from './errors.ts'
import { LabHosts } from '../test/support/lab-hosts.ts'
import { reveal, type Secret } from '../src/secrets.ts'

export interface LabDrill {
  playbook: string
  /** The lab hosts it needs. */
  hosts: readonly string[]
  /** What builds the system it drills: a playbook and its flags. */
  converge: readonly [string, ...string[]]
  /** The drill's own flags before the user's (the hosts it runs on: the lab has no Harbor node up for the database drills). */
  flags?: readonly string[]
  /** After the converge, before the drill: what the lab sets up for it (a client of Harbor). */
  prepare?: () => Promise<void>
}

const HARBOR_CLIENT_IMAGE = '10.77.0.21/library/berth-drill:1'

/** nfs1's Docker as Harbor's client: plain HTTP to harbor1 (the lab has no TLS), logged in as admin, with an image pushed. */
async function harborClientOnNfs1(): Promise<void> {
  const hosts = await LabHosts.load()
  hosts.connect('nfs1')
  try {
    const nfs1 = hosts.host('nfs1')
    await nfs1.$`printf '%s\n' ${JSON.stringify({ 'insecure-registries': ['10.77.0.21'] })} > /etc/docker/daemon.json && systemctl reload docker`
    await nfs1.$`docker login -u admin --password-stdin 10.77.0.21`.stdin(reveal(hosts.vars('harbor1').harbor_admin_password as string | Secret)).quiet()
    await nfs1.$`tar -C /etc -c hostname os-release | docker import - ${HARBOR_CLIENT_IMAGE} >/dev/null && docker push -q ${HARBOR_CLIENT_IMAGE}`.quiet()
  } finally {
    await Promise.all(hosts.connections.map((c) => c.close()))
  }
}

export const LAB_DRILLS: Readonly<Record<string, LabDrill>> = {
  'pg-switchover': { playbook: 'playbooks/dr-pg-switchover.ts', hosts: ['db1', 'db2'], converge: ['playbooks/ha-pg-replicated.ts', '--limit', 'postgres'] },
  'pg-failover': { playbook: 'playbooks/dr-pg-failover.ts', hosts: ['db1', 'db2'], converge: ['playbooks/ha-pg-replicated.ts', '--limit', 'postgres'], flags: ['--limit', 'postgres'] },
  // The seed's whole case: Harbor on the pair, repointed by the failover and back.
  'pg-failover-harbor': {
    playbook: 'playbooks/dr-pg-failover.ts',
    hosts: ['nfs1', 'db1', 'db2', 'harbor1', 'harbor2'],
    converge: ['playbooks/ha-pg-replicated.ts'],
    flags: ['-e', 'drill.harborClient=nfs1', '-e', `drill.image=${HARBOR_CLIENT_IMAGE}`],
    prepare: harborClientOnNfs1,
  },
  'pg-restore': { playbook: 'playbooks/dr-pg-restore.ts', hosts: ['db1', 'db2'], converge: ['playbooks/ha-pg-replicated.ts', '--limit', 'postgres'], flags: ['--limit', 'postgres'] },
}

const [name, ...flags] = process.argv.slice(2)
const t0 = performance.now()
const progress = new Progress(process.stdout)
try {
  const spec = name ? LAB_DRILLS[name] : undefined
  if (!spec) throw new LabError(`${name ? `no drill named '${name}'` : 'which drill?'}: npm run drill -- NAME`, { hint: `drills: ${Object.keys(LAB_DRILLS).join(', ')}` })
  const prerequisites = await ensurePrerequisites('demo', (line) => progress.line(line))
  if (prerequisites.unmet) throw new LabError(prerequisites.unmet.message)
  const lab = Lab.open(DEFAULT_INVENTORY, (line) => progress.line(line), progress)
  const up = await lab.up(spec.hosts)
  progress.line(`lab up in ${up.seconds.toFixed(1)} s: ${spec.hosts.join(', ')}`)
  const [converge, ...convergeFlags] = spec.converge
  progress.line(`\nconverge: ./${converge} -i inventory/lab.yml ${convergeFlags.join(' ')}`)
  const c = await $({ stdio: 'inherit', nothrow: true })`./${converge} -i ${DEFAULT_INVENTORY} ${convergeFlags}`
  if (c.exitCode !== 0) throw new LabError(`the converge before the drill failed (exit ${c.exitCode ?? c.signal}): the drill did not run`)
  if (spec.prepare) {
    progress.line('\nprepare: what the drill needs on the lab')
    await spec.prepare()
  }
  const all = [...(spec.flags ?? []), ...flags]
  progress.line(`\ndrill: ./${spec.playbook} -i inventory/lab.yml ${all.join(' ')}`)
  const r = await $({ stdio: 'inherit', nothrow: true })`./${spec.playbook} -i ${DEFAULT_INVENTORY} ${all}`
  progress.line(`\ndrill ${name}: exit ${r.exitCode ?? r.signal}; ${finalSeconds(performance.now() - t0)} in all. The lab is still up: npm run lab -- status | down`)
  process.exitCode = r.exitCode ?? 1
} catch (e) {
  process.stderr.write(`ERROR! ${e instanceof BerthError ? e.describe() : String((e as Error).stack ?? e)}\n`)
  process.exitCode = 1
}
