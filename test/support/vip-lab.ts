// The lab's virtual address as the keepalived lab test and the failover bench
// read it: who holds it (each running node's interface, read through the lab
// with nsenter, so a reading needs no network and works across a partition),
// each node's transition log, and a bounded wait.
import type { Lab } from '../../lab/lab.ts'
import { parseInterfaceAddresses } from '../../roles/keepalived-vip/holders.ts'
import { KEEPALIVED_VIP_DEFAULTS } from '../../roles/keepalived-vip/options.ts'

/** inventory/group_vars/keepalived: the address, its nodes and their interface. */
export const VIP = '10.77.0.100'
export const VIP_NODES = ['harbor1', 'harbor2'] as const
export type VipNode = (typeof VIP_NODES)[number]
const INTERFACE = 'host0'

export const otherNode = (n: VipNode): VipNode => (n === 'harbor1' ? 'harbor2' : 'harbor1')

/** Whether a node has the address on its interface now. */
export async function holdsVip(lab: Lab, n: VipNode): Promise<boolean> {
  return parseInterfaceAddresses(await lab.exec(n, ['ip', '-o', '-4', 'addr', 'show', 'dev', INTERFACE])).includes(VIP)
}

/** The nodes holding the address now; a node not running holds nothing. */
export async function vipHolders(lab: Lab): Promise<VipNode[]> {
  const status = new Map((await lab.status()).map((s) => [s.name, s.state]))
  const held = await Promise.all(VIP_NODES.map(async (n) => (status.get(n) === 'running' || status.get(n) === 'partitioned') && (await holdsVip(lab, n))))
  return VIP_NODES.filter((_, i) => held[i])
}

/** Poll `ok` until it holds; the seconds it took, or an error naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000, intervalMs = 100): Promise<number> {
  const t0 = performance.now()
  while (!(await ok())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  return (performance.now() - t0) / 1000
}

/** The one node holding the address, once exactly one does (within 20 s). */
export async function soleHolder(lab: Lab): Promise<VipNode> {
  let sole: VipNode | undefined
  await waitUntil('exactly one node holds the address', async () => {
    const h = await vipHolders(lab)
    sole = h.length === 1 ? h[0] : undefined
    return sole !== undefined
  })
  return sole as VipNode
}

/** A node's transition log (the role's notify hook: `EPOCH.MS HOST INSTANCE NAME STATE PRIORITY` per line). */
export async function transitions(lab: Lab, n: VipNode): Promise<{ at: number; state: string }[]> {
  return (await lab.exec(n, ['sh', '-c', `cat ${KEEPALIVED_VIP_DEFAULTS.transitionLog} 2>/dev/null || true`])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ')
      return { at: Number(f[0]), state: f[4] ?? '' }
    })
}
