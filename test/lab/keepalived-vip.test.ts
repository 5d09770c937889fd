// One virtual address in front of the Harbor nodes on the lab (seed 003):
// playbooks/ha-keepalived-vip.ts on fresh hosts, real keepalived 2.2.7 over
// the lab bridge (VRRPv3, unicast, adverts every 0.25 s), in front of the LAB'S
// STAND-IN Harbor (see the README). Clients (nfs1's Docker) use the address's
// name, harbor-vip.berth.test, which the lab writes into every host's
// /etc/hosts. Who holds the address is read from every node's interface
// through the lab (nsenter), so a reading needs no network.
//
// The file owns lab `berth` while it runs: it holds the lab lock, starts from
// `down`, and ends with `down` even when a test fails.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Host } from '../../src/host.ts'
import type { DrillReport } from '../../src/drill/report.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { KEEPALIVED_CONF } from '../../roles/keepalived-vip/index.ts'
import { renderKeepalivedConf } from '../../roles/keepalived-vip/config.ts'
import { KEEPALIVED_VIP_DEFAULTS, type KeepalivedVipOptions } from '../../roles/keepalived-vip/options.ts'
import { LabHosts } from '../support/lab-hosts.ts'
import { setUpReported, skippedWithoutLab, tearDownLab } from '../support/lab-owner.ts'
import { otherNode as other, soleHolder as soleHolderOn, transitions as transitionsOn, VIP, VIP_NODES, vipHolders, waitUntil, type VipNode } from '../support/vip-lab.ts'
import { operatorShell, replayAll, secretNames, sections } from '../support/runbook-replay.ts'
import { assertConverged, changedTasks as changed, describeRun as describe, failures, runLabPlaybook, type LabRun } from '../support/lab-playbook.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PLAYBOOK = join(ROOT, 'playbooks', 'ha-keepalived-vip.ts')
const NODE_LOSS = join(ROOT, 'playbooks', 'dr-harbor-node-loss.ts')
const NAME = 'harbor-vip.berth.test'
const NODES = VIP_NODES
type Node = VipNode
const IMAGE = `${NAME}/library/vip:1`
const LAB_NODES = [
  { name: 'harbor1', address: '10.77.0.21' },
  { name: 'harbor2', address: '10.77.0.22' },
]

const NAMES = [
  "first run converges: exactly one node holds the address; Harbor's hostname is its name; keepalived -t passes on every node's file and on the other policies' files; docker push and pull through the name work (lab stand-in Harbor)",
  "Harbor's core stopped on the holder: the address moves, the pull through it works again, and with nopreempt it stays put when that core is back (transitions counted from the notify log)",
  'dr-harbor-node-loss: the holder\'s power cut while nfs1 pulls through the name in a loop: the address moves, pulls work again (exit 0, the report gives the pull downtime); the node powered on and converged takes nothing back (nopreempt)',
  'split brain (the link between the nodes cut): both hold the address; --check fails naming both; heal ends it with one holder',
  'preempt with a delay, applied by a reload (same keepalived process): harbor1 takes the address back once healthy, after the delay, and only then',
  "a broken option (an interface the hosts lack) is refused by keepalived -t on the host: the run fails with keepalived's words, the live file and the address untouched",
  'converged: a second run changes nothing, --check --detect-drift exits 0, no secret in any output',
  "keepalived's runbook: written by a run on nodes without keepalived, replayed there by hand (plain ssh and bash), it gives what berth gives: no drift, one holder",
]

if (!skippedWithoutLab('keepalived VIP', NAMES, (name) => test.skip(name))) {
  let lab: Lab
  let hosts: LabHosts | undefined
  const secrets = { admin: '' }
  let converged = false
  const needConverged = (): void => {
    if (!converged) throw new Error('the first run did not converge (see above); skipping')
  }
  const host = (name: string): Host => (hosts as LabHosts).host(name)
  const runPlaybook = (...args: string[]): Promise<LabRun> => runLabPlaybook(PLAYBOOK, ...args)
  const runs: LabRun[] = []
  const scratch = mkdtempSync(join(tmpdir(), 'berth-vip-'))
  const run = async (...args: string[]): Promise<LabRun> => {
    const r = await runPlaybook(...args)
    runs.push(r)
    return r
  }

  const holders = (): Promise<Node[]> => vipHolders(lab)
  const soleHolder = (): Promise<Node> => soleHolderOn(lab)
  const transitions = (n: Node): Promise<{ at: number; state: string }[]> => transitionsOn(lab, n)
  /** A fresh pull of the test image through the address's name (nfs1's Docker). */
  const pullThroughName = async (): Promise<void> => {
    const nfs1 = host('nfs1')
    await nfs1.$`docker rmi -f ${IMAGE} >/dev/null 2>&1 || true`
    await nfs1.$`docker pull -q ${IMAGE}`
  }

  test.before(() =>
    setUpReported(async () => {
      hosts = await LabHosts.load()
      secrets.admin = String(hosts.vars('harbor1').harbor_admin_password)
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      await lab.hold('test/lab/keepalived-vip.test.ts')
      await lab.down()
      await lab.up(['nfs1', 'harbor1', 'harbor2'])
      hosts.connect('nfs1')
      // The test's client: nfs1's Docker talks plain HTTP to the address's name.
      await host('nfs1').$`mkdir -p /etc/docker && printf '%s\n' ${JSON.stringify({ 'insecure-registries': [NAME] })} > /etc/docker/daemon.json`
    }),
  )
  test.after(() => tearDownLab(lab, hosts?.connections ?? [], () => rmSync(scratch, { recursive: true, force: true })))

  test(NAMES[0] as string, async () => {
    const first = await run()
    assert.is(first.code, 0, describe(first))
    for (const n of NODES) assert.ok(changed(first, n).some((t) => t.includes('keepalived runs the written configuration')), `${n}: keepalived started`)
    const check = first.events.find((e) => e.kind === 'host_result' && e.task.includes('held by exactly one of harbor1, harbor2'))
    assert.ok(check && check.kind === 'host_result' && check.status === 'ok', JSON.stringify(check))
    assert.match(check.summary ?? '', new RegExp(`${VIP.replace(/\./g, '\\.')} is held by harbor[12] alone`))
    await soleHolder()
    for (const n of NODES) {
      const yml = await lab.exec(n, ['sh', '-c', 'grep "^hostname:" /opt/harbor/v*/harbor.yml'])
      assert.match(yml.stdout, new RegExp(`hostname: "?${NAME}"?`), `${n}: ${yml.stdout}${yml.stderr}`)
      const t = await lab.exec(n, ['keepalived', '-t', '-f', KEEPALIVED_CONF])
      assert.is(t.code, 0, `${n}: keepalived -t: ${t.stdout}${t.stderr}`)
      assert.match((await lab.exec(n, ['getent', 'hosts', NAME])).stdout, new RegExp(`^${VIP.replace(/\./g, '\\.')}\\s`), `${n} resolves ${NAME}`)
    }
    // The other policies' files pass keepalived's own check too, on a real node (it checks the interface and the scripts there).
    const variants: Partial<KeepalivedVipOptions>[] = [
      { preemption: { mode: 'preempt', delaySeconds: 30 } },
      { version: 2, advertInterval: 1, authentication: { password: 'pw123456' } },
      { transport: 'multicast', health: false, node: 'harbor2' },
    ]
    for (const v of variants) {
      const conf = renderKeepalivedConf({ ...KEEPALIVED_VIP_DEFAULTS, address: `${VIP}/24`, interface: 'host0', virtualRouterId: 51, node: 'harbor1', nodes: LAB_NODES, ...v })
      const t = await lab.exec('harbor1', ['sh', '-c', `printf '%s' "$1" > /tmp/variant.conf && keepalived -t -f /tmp/variant.conf`, 'variant', conf])
      assert.is(t.code, 0, `keepalived -t on ${JSON.stringify(v)}: ${t.stdout}${t.stderr}`)
    }
    const nfs1 = host('nfs1')
    await nfs1.$`tar -C /etc -c hostname os-release | docker import - ${IMAGE}`
    await nfs1.$`docker login -u admin --password-stdin ${NAME}`.stdin(secrets.admin)
    await nfs1.$`docker push -q ${IMAGE}`
    await pullThroughName()
    converged = true
  })

  test(NAMES[1] as string, async () => {
    needConverged()
    const was = await soleHolder()
    const next = other(was)
    const before = { [was]: (await transitions(was)).length, [next]: (await transitions(next)).length }
    await lab.exec(was, ['docker', 'stop', 'harbor-core'])
    const moved = await waitUntil(`the address moves from ${was} to ${next}`, async () => (await holders()).join() === next, 15_000)
    console.log(`    core stopped on ${was}: the address on ${next} after ${moved.toFixed(2)} s`)
    await pullThroughName()
    await lab.exec(was, ['docker', 'start', 'harbor-core'])
    // Back healthy (rise 2 at 1 s), then watched: nopreempt keeps the address on the node holding it.
    await waitUntil(`${was} leaves FAULT`, async () => (await transitions(was)).at(-1)?.state === 'BACKUP', 60_000)
    await new Promise((r) => setTimeout(r, 8000))
    assert.equal(await holders(), [next], 'the address stayed where it went')
    const newOnOld = (await transitions(was)).slice(before[was]).map((t) => t.state)
    const newOnNext = (await transitions(next)).slice(before[next]).map((t) => t.state)
    assert.equal(newOnOld, ['FAULT', 'BACKUP'], `${was}'s transitions`)
    assert.equal(newOnNext, ['MASTER'], `${next}'s transitions`)
    const checked = await run('--check', '--limit', 'keepalived')
    assert.is(checked.code, 0, describe(checked))
  })

  test(NAMES[2] as string, async () => {
    needConverged()
    const was = await soleHolder()
    const next = other(was)
    const masters = (await transitions(next)).filter((t) => t.state === 'MASTER').length
    const reports = join(scratch, 'drill-reports')
    const drillRun = await runLabPlaybook(NODE_LOSS, '-e', `drill.reportDir=${reports}`, '-e', 'drill.client=nfs1', '-e', `drill.image=${IMAGE}`)
    runs.push(drillRun)
    assert.is(drillRun.code, 0, `${describe(drillRun)}\n${drillRun.events.flatMap((e) => (e.kind === 'message' ? [e.message] : [])).join('\n')}`)
    const file = readdirSync(reports).find((f) => /^harbor-node-loss-\d{8}-\d{6}\.json$/.test(f))
    assert.ok(file, readdirSync(reports).join(', '))
    const report = JSON.parse(readFileSync(join(reports, file), 'utf8')) as DrillReport
    assert.is(report.verdict, 'passed', report.reason)
    const m = (name: string) => report.measures.find((x) => x.name === name)
    const movedTo = m(`fault to ${VIP} on ${next}`)
    const firstPull = m('fault to the first pull that worked')
    assert.ok(movedTo && movedTo.value > 0 && firstPull, JSON.stringify(report.measures))
    assert.equal(report.topology.before[was], `holds ${VIP}`)
    assert.equal(report.topology.after[next], `holds ${VIP}`)
    const downtime = m('RTO: pull downtime')
    assert.ok(downtime && downtime.value >= firstPull.value, JSON.stringify(report.measures))
    assert.ok(report.steadyAfter.some((c) => c.name === `${next} still holds ${VIP} (nopreempt)` && c.ok), JSON.stringify(report.steadyAfter))
    console.log(`    ${was} powered off: the address on ${next} after ${(movedTo.value / 1000).toFixed(2)} s, a pull worked ${(firstPull.value / 1000).toFixed(2)} s after the cut; pull downtime ${(downtime.value / 1000).toFixed(2)} s`)
    // The drill powered it on again: Harbor and keepalived came back with the host (restart: always, enabled), the run starts nothing.
    const again = await run()
    assert.is(again.code, 0, describe(again))
    assert.not.ok(changed(again, was).some((t) => t.includes('keepalived runs')), `keepalived on ${was} was started by the run: ${changed(again, was).join(', ')}`)
    await waitUntil(`${was} is BACKUP again`, async () => (await transitions(was)).at(-1)?.state === 'BACKUP', 60_000)
    assert.equal(await holders(), [next], 'the address stayed on the node that took it')
    assert.is((await transitions(next)).filter((t) => t.state === 'MASTER').length, masters + 1, `${next} took the address once and did not flap`)
    await pullThroughName()
  })

  test(NAMES[3] as string, async () => {
    needConverged()
    const was = await soleHolder()
    await lab.partitionBetween('harbor1', 'harbor2')
    try {
      const took = await waitUntil('both nodes hold the address', async () => (await holders()).length === 2, 15_000)
      console.log(`    link cut: both hold the address after ${took.toFixed(2)} s`)
      const check = await run('--check', '--limit', 'keepalived')
      assert.is(check.code, 2, describe(check))
      const f = failures(check).join('\n')
      assert.match(f, /split brain: 10\.77\.0\.100 is held by harbor1 and harbor2 at once/)
    } finally {
      await lab.healBetween('harbor1', 'harbor2')
    }
    await waitUntil('one holder again', async () => (await holders()).length === 1, 15_000)
    console.log(`    healed: ${(await holders()).join()} holds it (held by ${was} before)`)
    const check = await run('--check', '--limit', 'keepalived')
    assert.is(check.code, 0, describe(check))
  })

  test(NAMES[4] as string, async () => {
    needConverged()
    const pids = async (): Promise<string[]> => Promise.all(NODES.map(async (n) => (await lab.exec(n, ['systemctl', 'show', '-P', 'MainPID', 'keepalived'])).stdout.trim()))
    const before = await pids()
    const preempt = { address: `${VIP}/24`, interface: 'host0', virtualRouterId: 51, preemption: { mode: 'preempt', delaySeconds: 2 } }
    const r = await run('--limit', 'keepalived', '-e', JSON.stringify({ keepalived: preempt }))
    assert.is(r.code, 0, describe(r))
    for (const n of NODES) assert.ok(changed(r, n).some((t) => t.includes('keepalived runs')), `${n} applied the new file`)
    assert.equal(await pids(), before, 'reloaded, not restarted')
    // harbor1 (priority 150) preempts harbor2 (140) after the delay, wherever the address was.
    await waitUntil('harbor1 holds the address', async () => (await holders()).join() === 'harbor1', 20_000)
    const mark = { harbor1: (await transitions('harbor1')).length, harbor2: (await transitions('harbor2')).length }
    await lab.exec('harbor1', ['docker', 'stop', 'harbor-core'])
    await waitUntil('the address moves to harbor2', async () => (await holders()).join() === 'harbor2', 15_000)
    await lab.exec('harbor1', ['docker', 'start', 'harbor-core'])
    await waitUntil('harbor1 healthy again (BACKUP)', async () => (await transitions('harbor1')).at(-1)?.state === 'BACKUP', 60_000)
    await waitUntil('harbor1 takes the address back', async () => (await holders()).join() === 'harbor1', 20_000)
    const log1 = (await transitions('harbor1')).slice(mark.harbor1)
    assert.equal(log1.map((t) => t.state), ['FAULT', 'BACKUP', 'MASTER'], "harbor1's transitions")
    const [backAt, masterAt] = [log1[1]!.at, log1[2]!.at]
    assert.ok(masterAt - backAt >= 2, `preempted ${(masterAt - backAt).toFixed(2)} s after it was BACKUP: not before the 2 s delay`)
    await new Promise((r) => setTimeout(r, 5000))
    assert.equal((await transitions('harbor2')).slice(mark.harbor2).map((t) => t.state), ['MASTER', 'BACKUP'], "harbor2's transitions: no flapping")
    assert.equal(await holders(), ['harbor1'])
  })

  test(NAMES[5] as string, async () => {
    needConverged()
    const holder = await soleHolder()
    const sums = async (): Promise<string[]> => Promise.all(NODES.map(async (n) => (await lab.exec(n, ['sha256sum', KEEPALIVED_CONF])).stdout))
    const before = await sums()
    const broken = { address: `${VIP}/24`, interface: 'nosuch0', virtualRouterId: 51 }
    const r = await run('--limit', 'keepalived', '-e', JSON.stringify({ keepalived: broken }))
    assert.is(r.code, 2, describe(r))
    const f = failures(r).join('\n')
    assert.match(f, /keepalived\.conf/)
    assert.match(f, /keepalived -t -f/)
    assert.match(f, /nosuch0/)
    assert.equal(await sums(), before, 'the live files are untouched')
    assert.equal(await holders(), [holder], 'the address is where it was')
  })

  test(NAMES[6] as string, async () => {
    needConverged()
    // Back to the inventory's nopreempt (a reload), then converged.
    const back = await run()
    assert.is(back.code, 0, describe(back))
    const { again, check } = await assertConverged(run)
    runs.push(again, check)
    for (const r of runs) assert.not.ok(r.stdout.includes(secrets.admin) || r.stderr.includes(secrets.admin), "the admin password is in berth's output")
  })

  test(NAMES[7] as string, async () => {
    needConverged()
    // keepalived gone from both nodes, as on fresh ones (the rest of the stack stays: its part of the runbook is checks only).
    const removeKeepalived = async (): Promise<void> => {
      for (const n of NODES) {
        const r = await lab.exec(n, ['sh', '-c', 'systemctl stop keepalived; DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq keepalived >/dev/null && rm -rf /etc/keepalived /var/lib/berth/keepalived /var/log/keepalived-vip'])
        assert.is(r.code, 0, `${n}: ${r.stderr}`)
      }
      assert.equal(await holders(), [], 'nobody holds the address')
    }
    await removeKeepalived()
    const file = join(scratch, 'ha-keepalived-vip.md')
    const written = await run('--limit', 'keepalived', '--runbook', file)
    assert.is(written.code, 0, describe(written))
    const markdown = readFileSync(file, 'utf8')
    assert.not.match(markdown, /\*{8}|cannot be run by hand|not planned yet|berth-sensitive/, 'every step can be pasted as it stands')
    const found = sections(markdown).filter((s) => s.blocks.length > 0)
    for (const n of NODES) assert.ok(found.some((s) => s.host === n && s.play.startsWith('keepalived') && s.blocks.some((b) => b.includes('keepalived -t -f "$tmp"'))), `${n}: the runbook writes keepalived.conf through keepalived -t`)
    await removeKeepalived()
    const vars = (hosts as LabHosts).vars('harbor1')
    const variables = Object.fromEntries(secretNames(markdown).map((name) => [name, String(vars[name.toLowerCase()] ?? '')]))
    for (const [name, value] of Object.entries(variables)) assert.ok(value, `the inventory has ${name}`)
    await replayAll(operatorShell(String(vars.ansible_ssh_private_key_file), String(vars.berth_known_hosts_file)), found, variables, (line) => console.log(`    ${line}`))
    await soleHolder()
    const check = await run('--check', '--detect-drift')
    assert.is(check.code, 0, describe(check))
  })

  test.run()
}
