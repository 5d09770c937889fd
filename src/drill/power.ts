// A host's power, cut and restored from the machine running the playbook: what
// a fence agent does (Pacemaker's off/on, an IPMI or hypervisor call). A drill
// kills a host this way, the hard way a failure does (no shutdown, no flush),
// and brings it back to see what it does on its own at boot.
//
// Inventory variables, per host or group, run with `sh -c` in the inventory's
// folder; `{{ inventory_hostname }}` is replaced by the host's name:
//
//   berth_power_off: 'ipmitool -I lanplus -H {{ inventory_hostname }}-bmc -U fence -f /etc/fence.pw chassis power off'
//   berth_power_on:  'ipmitool ... chassis power on'
//
// The command must return once the power is off (or on), and fail otherwise.
import { dirname } from 'node:path'
import { statSync } from 'node:fs'
import { $ } from 'zx'
import { BerthError, ConfigError } from '../errors.ts'
import { Secret } from '../secrets.ts'
import type { Host } from '../host.ts'
import type { Playbook } from '../playbook.ts'

export type PowerAction = 'off' | 'on'

export const POWER_VARS: Readonly<Record<PowerAction, string>> = { off: 'berth_power_off', on: 'berth_power_on' }

/**
 * The command for a host, with its name in place; undefined when the inventory
 * has none. It may come from the vault (a fence agent's password in it): it is
 * then masked wherever the run writes, and drills name the variable, never the
 * command.
 */
export function powerCommand(h: Host, action: PowerAction): string | undefined {
  const v = h.var<unknown>(POWER_VARS[action], undefined)
  if (v === undefined) return undefined
  const text = v instanceof Secret ? v.reveal() : v
  if (typeof text !== 'string' || text.trim() === '') throw new ConfigError(`${h.name}: variable ${POWER_VARS[action]} must be a shell command`)
  const command = text.replace(/\{\{\s*inventory_hostname\s*\}\}/g, h.name)
  if (v instanceof Secret) h.redactor.add(command)
  return command
}

/** Where power commands run: the first inventory source's folder (relative paths in them are the inventory's). */
export function powerCwd(pb: Playbook): string {
  const source = pb.inventory.sources[0]
  if (!source) return process.cwd()
  try {
    return statSync(source).isDirectory() ? source : dirname(source)
  } catch {
    return dirname(source)
  }
}

/** Cut or restore a host's power; returns how long the command took. Throws with the command, exit code and output tail. */
export async function power(pb: Playbook, h: Host, action: PowerAction): Promise<{ command: string; ms: number }> {
  const command = powerCommand(h, action)
  if (!command) throw new ConfigError(`${h.name}: no way to power it ${action}: variable ${POWER_VARS[action]} is not set`, { hint: `set ${POWER_VARS[action]} for ${h.name} in the inventory (a fence agent's command; see src/drill/power.ts)` })
  const t0 = performance.now()
  const r = await $({ cwd: powerCwd(pb), nothrow: true, quiet: true })`sh -c ${command}`
  const ms = performance.now() - t0
  if (r.exitCode !== 0) {
    const tail = pb.redactor.mask((r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join('\n'))
    throw new BerthError(`${h.name}: power ${action} failed: ${POWER_VARS[action]} exited with ${r.exitCode ?? r.signal}${tail ? `:\n${tail}` : ''}`, { hint: `check ${POWER_VARS[action]} (run it by hand in ${powerCwd(pb)})` })
  }
  return { command, ms }
}
