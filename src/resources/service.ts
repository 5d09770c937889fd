// `service`: a systemd unit started or stopped, enabled or disabled. It never
// restarts anything: restarts come from handlers (restartService, reloadService),
// run once at the end of a play when a task changed something.
import { BerthError } from '../errors.ts'
import { unitFact, type UnitState } from '../facts/systemd.ts'
import type { FactValues } from '../facts/fact.ts'
import { sh, type ShellCommand } from '../shell.ts'
import { argumentError, withCommandOperations, type CommandsPlan } from './file.ts'
import { task, type Resource, type Task } from './resource.ts'

export interface ServiceOptions {
  name: string
  state?: 'started' | 'stopped'
  enabled?: boolean
}

// Unit names: letters, digits and :-_.\@ (systemd.unit(5)).
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/

function checkUnitName(resource: string, name: unknown): string {
  if (typeof name !== 'string' || !UNIT_NAME.test(name)) throw argumentError(resource, 'name', `must be a systemd unit name (got ${JSON.stringify(name)})`)
  return name
}

const RUNNING = new Set(['active', 'reloading'])
const STOPPED = new Set(['inactive', 'failed'])
/** Unit file states that `systemctl enable` / `disable` cannot change: already as good as it gets. */
const NOT_SWITCHABLE = new Set(['static', 'generated', 'transient', 'indirect', 'alias'])

export function planService(name: string, state: 'started' | 'stopped' | undefined, enabled: boolean | undefined, unit: UnitState): CommandsPlan {
  if (unit.loadState === 'not-found') {
    if (state === 'started' || enabled === true)
      throw new BerthError(`unit ${name} not found`, { hint: 'install the package that provides it first, or check the name' })
    return { changed: false, summary: `unit ${name} not found: nothing to stop or disable`, commands: [] }
  }
  const wantsEnable = enabled === true && unit.unitFileState !== 'enabled' && !NOT_SWITCHABLE.has(unit.unitFileState)
  const wantsDisable = enabled === false && !['disabled', 'masked', ''].includes(unit.unitFileState) && !NOT_SWITCHABLE.has(unit.unitFileState)
  if (wantsEnable && unit.unitFileState === 'masked') throw new BerthError(`unit ${name} is masked`, { hint: `unmask it first: systemctl unmask ${name}` })
  const wantsStart = state === 'started' && !RUNNING.has(unit.activeState)
  const wantsStop = state === 'stopped' && !STOPPED.has(unit.activeState)
  if (wantsStart && unit.loadState === 'masked') throw new BerthError(`unit ${name} is masked and cannot start`, { hint: `systemctl unmask ${name}` })

  const commands: ShellCommand[] = []
  const notes: string[] = []
  // enable --now / disable --now do both in one systemctl call when both are wanted.
  if (wantsEnable) commands.push(wantsStart ? sh`systemctl enable --now -- ${name}` : sh`systemctl enable -- ${name}`)
  if (wantsDisable) commands.push(wantsStop ? sh`systemctl disable --now -- ${name}` : sh`systemctl disable -- ${name}`)
  if (wantsStart && !wantsEnable) commands.push(sh`systemctl start -- ${name}`)
  if (wantsStop && !wantsDisable) commands.push(sh`systemctl stop -- ${name}`)
  if (wantsEnable) notes.push('enable')
  if (wantsDisable) notes.push('disable')
  if (wantsStart) notes.push('start')
  if (wantsStop) notes.push('stop')
  if (commands.length === 0) return { changed: false, summary: `${unit.activeState}, ${unit.unitFileState || 'no unit file'}`, commands }
  return { changed: true, summary: `${notes.join(', ')} ${name}${wantsStart || wantsStop ? ` (was ${unit.activeState})` : ''}`, commands }
}

export function service(options: ServiceOptions): Task {
  const resource = 'service'
  const name = checkUnitName(resource, options.name)
  if (options.state !== undefined && options.state !== 'started' && options.state !== 'stopped')
    throw argumentError(resource, 'state', "must be 'started' or 'stopped' (restarts are handlers: restartService)")
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') throw argumentError(resource, 'enabled', 'must be true or false')
  if (options.state === undefined && options.enabled === undefined) throw argumentError(resource, 'state', 'or enabled must be given')
  const probe = unitFact(name)
  const res: Resource<CommandsPlan> = {
    title: `service ${name}`,
    facts: () => [probe],
    plan: (facts: FactValues) => withCommandOperations(planService(name, options.state, options.enabled, facts.get(probe))),
  }
  return task(res)
}

/** A resource that always runs its one command (for handlers). */
function always(title: string, summary: string, command: ShellCommand): Task {
  const res: Resource<CommandsPlan> = {
    title,
    facts: () => [],
    plan: () => withCommandOperations({ changed: true, summary, commands: [command] }),
  }
  return task(res)
}

export function restartService(name: string): Task {
  const unit = checkUnitName('restartService', name)
  return always(`restart ${unit}`, `restart ${unit}`, sh`systemctl restart -- ${unit}`)
}

export function reloadService(name: string): Task {
  const unit = checkUnitName('reloadService', name)
  return always(`reload ${unit}`, `reload ${unit}`, sh`systemctl reload -- ${unit}`)
}

/** systemd rereads unit files (after a unit or drop-in file changed). */
export function daemonReload(): Task {
  return always('systemd daemon-reload', 'daemon-reload', sh`systemctl daemon-reload`)
}
