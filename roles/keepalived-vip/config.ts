// keepalived.conf from keepalived-vip's options: the whole file, from one ejs
// template. Every value in it was checked by options.ts (addresses, names,
// paths without spaces or quotes), so none needs escaping here.
import { fileURLToPath } from 'node:url'
import { renderTemplate, reveal } from '../../src/index.ts'
import { peersOf, priorityOf, selfOf, type KeepalivedVipOptions } from './options.ts'

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf'
/** Root-owned, not writable by others: keepalived's script security checks every directory of a script's path. */
export const SCRIPT_DIR = '/etc/keepalived/berth'
export const HEALTH_SCRIPT = `${SCRIPT_DIR}/berth-vip-health`
export const NOTIFY_SCRIPT = `${SCRIPT_DIR}/berth-vip-notify`
const SCRIPT_NAME = 'berth_node_health'

export function renderKeepalivedConf(o: KeepalivedVipOptions): string {
  const view = {
    node: o.node,
    instanceName: o.instanceName,
    interface: o.interface,
    virtualRouterId: o.virtualRouterId,
    priority: priorityOf(o),
    version: o.version,
    advertInterval: o.advertInterval,
    downTimerAdverts: o.downTimerAdverts,
    preemption: o.preemption,
    authPassword: o.authentication === undefined ? undefined : reveal(o.authentication.password),
    transport: o.transport,
    self: selfOf(o).address,
    peers: o.transport === 'unicast' ? peersOf(o) : [],
    address: o.address,
    garp: o.garp,
    health: o.health,
    scriptName: SCRIPT_NAME,
    healthCommand: o.health === false ? '' : `${HEALTH_SCRIPT} ${o.health.url} ${o.health.requestTimeoutSeconds}`,
    notifyCommand: `${NOTIFY_SCRIPT} ${o.transitionLog}`,
    transitionLog: o.transitionLog,
  }
  return renderTemplate('keepalived.conf.ejs', view, TEMPLATES).text
}
