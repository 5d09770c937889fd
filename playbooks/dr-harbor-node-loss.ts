#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Drill: the Harbor node holding the virtual address dies (seed 003: keepalived
// in front of two Harbor nodes). A client pulls an image through the address's
// name in a loop (a real `docker pull`: the registry API, its token, the
// manifest), the holder's power is cut, and the report says how long pulls
// did not work: from the last pull that worked before the cut to the first
// after it (failed or merely slow in between), and from the cut to that pull. The node is then powered on again; with
// nopreempt it comes back as BACKUP and takes nothing back (a second outage
// would show in the same log).
//
//   ./playbooks/dr-harbor-node-loss.ts -i inventory/lab.yml -e drill.client=nfs1 -e drill.image=harbor-vip.berth.test/library/berth-test:1
//   ... -e drill.client=HOST      where the pulls run: Docker there trusts the registry and may pull the image (not a keepalived node)
//   ... -e drill.image=REF        the image pulled, through the address's name
//   ... -e drill.powerOn=false    leave the node off afterwards
import { ConfigError, playbook, sh } from '../src/index.ts'
import { drill, DrillAbort } from '../src/drill/drill.ts'
import { attemptLoop, BackgroundLoad } from '../src/drill/load.ts'
import { power, powerCommand } from '../src/drill/power.ts'
import { waitUntil } from '../src/wait-until.ts'
import { readHolders, type HolderReading } from '../roles/keepalived-vip/holders.ts'
import { bareAddress, KEEPALIVED_VIP_DEFAULTS, type KeepalivedVipOptions } from '../roles/keepalived-vip/options.ts'

interface DrillVars {
  client?: string
  image?: string
  powerOn?: boolean
  reportDir?: string
}

/** A pull that hangs on a connection to the dead node counts as failed after this long, and the next one starts. */
const PULL_TIMEOUT_S = 3

await playbook('dr-harbor-node-loss: the Harbor node holding the virtual address dies; pulls go on through the other', async (pb) => {
  const nodes = pb.inventory.select('keepalived').map((i) => pb.host(i.name))
  const [first] = nodes
  if (!first) throw new ConfigError('group keepalived is empty: this drill needs the nodes behind the virtual address')
  const vars = first.var<DrillVars>('drill', {})
  const kv = first.need<Partial<KeepalivedVipOptions>>('keepalived', 'the drill')
  const address = bareAddress(String(kv.address ?? ''))
  const iface = String(kv.interface ?? '')
  const nopreempt = (kv.preemption ?? KEEPALIVED_VIP_DEFAULTS.preemption).mode === 'nopreempt'
  const name = first.var<string | undefined>('keepalived_vip_name', undefined) ?? address
  if (!vars.image) throw new ConfigError('drill.image is not set: the image the client pulls through the virtual address', { hint: `e.g. -e drill.image=${name}/library/IMAGE:TAG (pushed before; the client's Docker must trust the registry)` })
  if (!vars.client) throw new ConfigError('drill.client is not set: the host whose Docker pulls through the virtual address (not one of its nodes)', { hint: '-e drill.client=HOST' })
  if (nodes.some((n) => n.name === vars.client)) throw new ConfigError(`drill.client is ${vars.client}, a node behind the virtual address: the client must survive the fault`)
  const image = vars.image
  const client = pb.host(vars.client)
  const pull = sh`timeout ${String(PULL_TIMEOUT_S)} docker pull -q ${image}`

  await drill(pb, { name: 'harbor-node-loss', title: `The Harbor node holding ${address} (${name}) loses its power while ${client.name} pulls ${image} through it; pulls go on through the other node.`, reportDir: vars.reportDir }, async (d) => {
    const holdersNow = (): Promise<HolderReading[]> => readHolders(nodes, address, iface, 3000)
    const heldBy = (r: readonly HolderReading[]): string[] => r.filter((x) => 'held' in x && x.held).map((x) => x.host)
    const before = await d.step(`who holds ${address}`, async (s) => {
      const r = await holdersNow()
      s.note(r.map((x) => `${x.host}: ${'held' in x ? (x.held ? 'holds it' : 'does not') : `unreachable (${x.unreachable})`}`).join('; '))
      return r
    })
    d.topology('before', Object.fromEntries(before.map((x) => [x.host, 'held' in x ? (x.held ? `holds ${address}` : 'backup') : `unreachable: ${x.unreachable}`])))
    const holderName = heldBy(before)[0]
    await d.steadyState('before', [
      { name: `exactly one node holds ${address}`, tolerance: '1 holder', probe: async () => ({ ok: heldBy(before).length === 1 && before.every((x) => 'held' in x), observed: heldBy(before).join(', ') || 'none' }) },
      {
        name: `${client.name} pulls ${image}`,
        tolerance: `docker pull within ${PULL_TIMEOUT_S} s`,
        probe: async () => {
          const r = await client.run(pull).quiet().nothrow()
          return { ok: r.code === 0, observed: r.code === 0 ? 'pulled' : `exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}` }
        },
      },
      { name: `${holderName ?? 'the holder'}'s power can be cut and restored`, tolerance: 'berth_power_off and berth_power_on set', probe: async () => ({ ok: holderName !== undefined && powerCommand(pb.host(holderName), 'off') !== undefined && powerCommand(pb.host(holderName), 'on') !== undefined, observed: holderName ? `berth_power_off ${powerCommand(pb.host(holderName), 'off') ? 'set' : 'not set'}, berth_power_on ${powerCommand(pb.host(holderName), 'on') ? 'set' : 'not set'}` : 'no holder' }) },
    ])
    const holder = pb.host(holderName as string)
    const others = nodes.filter((n) => n !== holder)

    const puller = await d.step(`start pulling on ${client.name}`, async (s) => {
      const load = await BackgroundLoad.start(client, 'harbor-pull', attemptLoop(pull, 0.05))
      const w = await waitUntil(() => load.samples(), (x) => x.filter((y) => y.ok).length >= 3, { timeoutMs: 30_000 })
      if (!w.ok) {
        await load.stop()
        throw new DrillAbort(`${client.name} did not pull ${image} three times within 30 s: ${w.value?.at(-1)?.detail ?? w.error ?? 'no output'}`)
      }
      s.note(`docker pull -q ${image}, each at most ${PULL_TIMEOUT_S} s, one after the other`)
      return load
    })
    const cancelStopPulling = d.onRollback('stop the pulls', async () => void (await puller.stop()))

    await d.fault(`cut ${holder.name}'s power`, async (s) => {
      pb.expectFault(holder.name, 'the drill cut its power')
      const p = await power(pb, holder, 'off')
      s.note(`berth_power_off returned after ${Math.round(p.ms)} ms`)
    })
    const faultEpoch = Date.now()
    const cancelPowerBack = d.onRollback(`power ${holder.name} on again`, async () => {
      await power(pb, holder, 'on')
      await pb.reconnect(holder.name, { timeoutMs: 60_000 })
    })

    const moved = await d.step(`${address} moves to another node`, async (s) => {
      const w = await waitUntil(() => readHolders(others, address, iface, 3000), (r) => heldBy(r).length === 1, { timeoutMs: 15_000, intervalMs: 50 })
      if (!w.ok) throw new Error(`no other node took ${address} within 15 s: ${JSON.stringify(w.value ?? w.error)}`)
      s.note(`${heldBy(w.value ?? []).join(', ')} holds it after ${(w.waitedMs / 1000).toFixed(2)} s`)
      return { node: heldBy(w.value ?? [])[0] as string, ms: w.waitedMs }
    })
    d.measure({ name: `fault to ${address} on ${moved.node}`, value: moved.ms, unit: 'ms', how: `ip -o -4 addr show dev ${iface} on the other nodes every 50 ms` })

    await d.step('pulls work again', async (s) => {
      const w = await waitUntil(() => puller.samples(), (x) => x.some((y) => y.ok && y.atMs > faultEpoch), { timeoutMs: 30_000, intervalMs: 100 })
      if (!w.ok) throw new Error(`no pull worked within 30 s of the fault: ${w.value?.at(-1)?.detail ?? w.error ?? ''}`)
      const samples = w.value ?? []
      const firstOk = Math.min(...samples.filter((y) => y.ok && y.atMs > faultEpoch).map((y) => y.atMs))
      // Always defined, failed pulls or not: a pull that hung until the address moved is downtime too.
      const lastOkBefore = Math.max(...samples.filter((y) => y.ok && y.atMs <= faultEpoch).map((y) => y.atMs))
      const failed = samples.filter((y) => !y.ok && y.atMs > lastOkBefore && y.atMs < firstOk)
      d.measure({ name: 'fault to the first pull that worked', value: Math.max(0, firstOk - faultEpoch), unit: 'ms', how: `${client.name}'s pull log: the power cut returned to the first pull completed after it` })
      d.measure({ name: 'RTO: pull downtime', value: firstOk - lastOkBefore, unit: 'ms', how: `${client.name}'s pull log: the last pull completed before the cut to the first after it (${failed.length} failed in between, ${PULL_TIMEOUT_S} s each at most)`, target: { max: 2000, binding: false } })
      s.note(failed.length ? `${failed.length} pulls failed: ${failed[0]?.detail.slice(0, 120) ?? ''}` : 'no pull failed (one was slower)')
    })

    if (vars.powerOn !== false) {
      await d.step(`power ${holder.name} on: it comes back as a backup`, async (s) => {
        const p = await power(pb, holder, 'on')
        const r = await pb.reconnect(holder.name, { timeoutMs: 60_000 })
        cancelPowerBack()
        // keepalived and Harbor start at boot; the node is a backup once keepalived runs there and it does not hold the address.
        const w = await waitUntil(async () => (await holder.run(sh`systemctl is-active keepalived`).quiet().nothrow()).stdout.trim(), (x) => x === 'active', { timeoutMs: 60_000, intervalMs: 250 })
        if (!w.ok) throw new Error(`keepalived does not run on ${holder.name} within 60 s of its power coming back (${w.value ?? w.error})`)
        // The election after its start: with nopreempt nothing moves; with preempt the address may move back.
        await new Promise((res) => setTimeout(res, 5000))
        s.note(`berth_power_on returned after ${Math.round(p.ms)} ms; reachable after ${(r.waitedMs / 1000).toFixed(1)} s; keepalived active after ${(w.waitedMs / 1000).toFixed(1)} s more`)
      })
    } else d.mark(`${holder.name} left powered off (drill.powerOn=false)`)

    const samples = await d.step('stop the pulls', async (s) => {
      const x = await puller.stop()
      s.note(`${x.filter((y) => y.ok).length} pulls worked, ${x.filter((y) => !y.ok).length} failed`)
      return x
    })
    cancelStopPulling()
    const after = await holdersNow()
    d.topology('after', Object.fromEntries(after.map((x) => [x.host, 'held' in x ? (x.held ? `holds ${address}` : 'backup') : `unreachable: ${x.unreachable}`])))
    await d.steadyState('after', [
      { name: `exactly one node holds ${address}`, tolerance: '1 holder', probe: async () => ({ ok: heldBy(after).length === 1, observed: heldBy(after).join(', ') || 'none' }) },
      // With nopreempt (the role's default) the node back takes nothing back; with preempt it may, and the pull log says what that cost.
      ...(nopreempt ? [{ name: `${moved.node} still holds ${address} (nopreempt)`, tolerance: `${holder.name} back takes nothing`, probe: async () => ({ ok: heldBy(after).join() === moved.node, observed: heldBy(after).join(', ') || 'none' }) }] : []),
      {
        name: 'no pull failed after the address moved',
        tolerance: `0 failed pulls after the first that worked (${holder.name}'s return included)`,
        probe: async () => {
          const firstOk = Math.min(...samples.filter((y) => y.ok && y.atMs > faultEpoch).map((y) => y.atMs))
          const late = samples.filter((y) => !y.ok && y.atMs > firstOk)
          return { ok: late.length === 0, observed: late.length === 0 ? '0' : `${late.length}, the first: ${late[0]?.detail.slice(0, 120)}` }
        },
      },
    ])
  })
})
