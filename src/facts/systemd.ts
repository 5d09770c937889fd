// A unit's state from `systemctl show`: key=value lines, in systemctl's own order.
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

export interface UnitState {
  /** 'loaded', 'not-found', 'masked', 'error'… */
  loadState: string
  /** 'active', 'inactive', 'failed', 'activating', 'deactivating', 'reloading'… */
  activeState: string
  /** 'enabled', 'disabled', 'static', 'masked', 'indirect', 'generated', '' (unknown unit)… */
  unitFileState: string
}

export function parseSystemctlShow(output: ProbeOutput): UnitState {
  if (output.code !== 0)
    // Typically "System has not been booted with systemd as init system (PID 1)".
    throw new Error(`systemctl show failed: ${output.stderr.trim() || `exit ${output.code}`}`)
  const values = new Map<string, string>()
  for (const line of output.stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1))
  }
  const loadState = values.get('LoadState')
  const activeState = values.get('ActiveState')
  if (loadState === undefined || activeState === undefined) throw new Error(`unexpected systemctl show output: ${JSON.stringify(output.stdout)}`)
  return { loadState, activeState, unitFileState: values.get('UnitFileState') ?? '' }
}

export function unitFact(unit: string): Fact<UnitState> {
  return fact(`systemd-unit:${unit}`, sh`systemctl show -p ActiveState,UnitFileState,LoadState -- ${unit}`, parseSystemctlShow)
}
