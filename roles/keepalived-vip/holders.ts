// Who holds the virtual address, read on every node of the group: exactly one
// is the only healthy answer. None is an outage; two or more is split brain
// (the nodes do not hear each other's adverts and each took the address). A
// node that cannot be asked is named, never counted as a holder or not: with
// one, "exactly one" cannot be known (it may hold the address too).
import { BerthError, sh, task, type Host, type Plan, type Resource, type Task } from '../../src/index.ts'

/** `ip -o -4 addr show dev IF`: the addresses on the interface, without prefixes. */
export function parseInterfaceAddresses(o: { stdout: string }): string[] {
  return o.stdout.split('\n').flatMap((l) => {
    const m = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(l)
    return m ? [m[1] as string] : []
  })
}

export type HolderReading = { host: string; held: boolean } | { host: string; unreachable: string }

export interface VipVerdict {
  kind: 'one' | 'none' | 'split' | 'unknown'
  holders: string[]
  /** Nodes that could not be asked, with why. */
  unreachable: { host: string; why: string }[]
  message: string
  hint?: string
}

const list = (names: readonly string[]): string => (names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`)

/** Pure: the group's readings to one verdict, naming the hosts. */
export function vipVerdict(address: string, readings: readonly HolderReading[]): VipVerdict {
  const holders = readings.flatMap((r) => ('held' in r && r.held ? [r.host] : []))
  const unreachable = readings.flatMap((r) => ('unreachable' in r ? [{ host: r.host, why: r.unreachable }] : []))
  const asked = readings.filter((r) => 'held' in r).map((r) => r.host)
  const unasked = unreachable.length ? `; not asked: ${unreachable.map((u) => `${u.host} (${u.why})`).join(', ')}` : ''
  if (holders.length === 1 && unreachable.length === 0) return { kind: 'one', holders, unreachable, message: `${address} is held by ${holders[0]} alone (asked ${list(asked)})` }
  if (holders.length < 2 && unreachable.length > 0)
    return {
      kind: 'unknown',
      holders,
      unreachable,
      message: `cannot tell whether exactly one node holds ${address}: ${holders.length ? `${holders[0]} holds it` : `no node asked holds it (asked ${asked.length ? list(asked) : 'none'})`}${unasked}, and ${unreachable.length > 1 ? 'they' : 'it'} may hold it too`,
      hint: 'bring the node back or reach it (the play above says why it is unreachable); a node cut off the others takes the address: that is split brain',
    }
  if (holders.length === 0)
    return {
      kind: 'none',
      holders,
      unreachable,
      message: `outage: no node holds ${address} (asked ${list(asked)})`,
      hint: 'on each node: systemctl status keepalived, and its transition log; a node whose health check fails is in FAULT and holds nothing',
    }
  return {
    kind: 'split',
    holders,
    unreachable,
    message: `split brain: ${address} is held by ${list(holders)} at once${unasked}`,
    hint: "the nodes do not hear each other's VRRP adverts (IP protocol 112): check the network and firewalls between them; one node keeps the address as soon as they do",
  }
}

export interface VipHoldersOptions {
  /** How long a change may take to settle (an election after a start or a reload) before the verdict stands. */
  settleMs: number
  intervalMs: number
  /** Per node: an unreachable node is given up on after this long. */
  askTimeoutMs: number
}

async function ask(h: Host, address: string, iface: string, timeoutMs: number): Promise<HolderReading> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs)))
  try {
    const r = await Promise.race([h.$`ip -o -4 addr show dev ${iface}`.quiet().timeout(timeoutMs), late])
    return { host: h.name, held: parseInterfaceAddresses(r).includes(address) }
  } catch (e) {
    return { host: h.name, unreachable: ((e as Error).message.split('\n')[0] ?? '').slice(0, 160) }
  } finally {
    clearTimeout(timer)
  }
}

/** Ask every node of the group at once. */
export const readHolders = (group: readonly Host[], address: string, iface: string, askTimeoutMs: number): Promise<HolderReading[]> =>
  Promise.all(group.map((h) => ask(h, address, iface, askTimeoutMs)))

/**
 * A task (read-only, so --check runs it too) that fails unless exactly one
 * node of `group` holds `address`, after at most `settleMs` for an election in
 * progress. Its failure names the holders. Each played node asks the whole
 * group (not run once: every node's report and runbook section shows it).
 */
export function vipHeldByOne(address: string, iface: string, group: readonly Host[], o: VipHoldersOptions): Task {
  const res: Resource = {
    title: `${address} held by exactly one of ${group.map((h) => h.name).join(', ')}`,
    // It waits for an election: in --check after changes not made (keepalived not started yet), it says so instead of waiting one out.
    waits: true,
    facts: () => [],
    plan: () => ({ changed: false }),
    check: async (): Promise<Plan> => {
      const started = performance.now()
      for (;;) {
        const v = vipVerdict(address, await readHolders(group, address, iface, o.askTimeoutMs))
        if (v.kind === 'one') return { changed: false, summary: v.message }
        if (performance.now() - started >= o.settleMs)
          throw new BerthError(`${v.message} (still so after ${(o.settleMs / 1000).toFixed(1)} s)`, v.hint === undefined ? {} : { hint: v.hint })
        await new Promise((r) => setTimeout(r, o.intervalMs))
      }
    },
  }
  return task(res, { readOnly: true })
}
