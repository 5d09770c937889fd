// keepalived-vip: one virtual address for a group of nodes (Harbor's, here),
// held by exactly one healthy node and moved by VRRP when that node dies or its
// health check fails. What Harbor 1.4-1.6's `ha/` keepalived samples meant to
// do, done right: the check is tracked (theirs was defined but never tracked,
// with `fail` for `fall`), it reads the health API's body with a bounded curl
// (not an HTTP 200 from /), every node starts as BACKUP (not MASTER on both),
// no shared auth password on VRRPv3, and the file is validated by
// `keepalived -t` before it replaces the live one and applied by a reload.
// Facts: ../shared/docs/keepalived-nfs.md, "keepalived".
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { apt, copy, defineRole, file, service, type Task } from '../../src/index.ts'
import { HEALTH_SCRIPT, KEEPALIVED_CONF, NOTIFY_SCRIPT, renderKeepalivedConf, SCRIPT_DIR } from './config.ts'
import { checkKeepalivedOptions, KEEPALIVED_VIP_DEFAULTS, type Fail, type KeepalivedVipOptions } from './options.ts'
import { KEEPALIVED_STATE, keepalivedRuns } from './service.ts'

export type { KeepalivedVipOptions, KeepalivedNode, HealthCheck, Garp, Preemption } from './options.ts'
export { HEALTH_DEFAULTS, bareAddress, priorityOf } from './options.ts'
export { KEEPALIVED_CONF, HEALTH_SCRIPT, NOTIFY_SCRIPT } from './config.ts'
export { vipHeldByOne, vipVerdict, readHolders, type VipVerdict, type HolderReading, type VipHoldersOptions } from './holders.ts'

const script = (name: string): string => readFileSync(fileURLToPath(new URL(`./files/${name}`, import.meta.url)), 'utf8')

/** `keepalived -t` on the candidate, on the host (it checks the interface and the scripts there). `-f` names the file: `-t` takes an optional argument of its own. */
export const KEEPALIVED_VALIDATE = 'keepalived -t -f %s'

/** The packages, for a playbook that installs every tier's packages in one play first (the role has them too). */
export const keepalivedPackages = (): Task[] => [apt({ packages: ['keepalived', 'curl', 'jq'] }).named('keepalived, and curl and jq for the health check')]

export const keepalivedVip = defineRole<KeepalivedVipOptions, typeof KEEPALIVED_VIP_DEFAULTS>({
  name: 'keepalived-vip',
  defaults: KEEPALIVED_VIP_DEFAULTS,
  required: ['address', 'interface', 'virtualRouterId', 'node', 'nodes'],
  validate: (o, fail) => checkKeepalivedOptions(o, fail as unknown as Fail),
  tasks: (o): Task[] => [
    ...keepalivedPackages(),
    // The scripts before the file that names them: `keepalived -t` checks that they exist and are safe.
    file({ path: SCRIPT_DIR, state: 'directory', owner: 'root', group: 'root', mode: '0755' }).named(`${SCRIPT_DIR} (root's scripts)`),
    copy({ path: HEALTH_SCRIPT, content: script('berth-vip-health'), owner: 'root', group: 'root', mode: '0755' }).named(`${HEALTH_SCRIPT} (reads the health API's body)`),
    copy({ path: NOTIFY_SCRIPT, content: script('berth-vip-notify'), owner: 'root', group: 'root', mode: '0755' }).named(`${NOTIFY_SCRIPT} (transition log)`),
    file({ path: KEEPALIVED_STATE, state: 'directory', mode: '0700' }).named('keepalived state directory (checksum of the applied file)'),
    copy({
      path: KEEPALIVED_CONF,
      content: renderKeepalivedConf(o),
      owner: 'root',
      group: 'root',
      // 0640 when it carries the VRRPv2 password.
      mode: o.authentication === undefined ? '0644' : '0640',
      sensitive: o.authentication !== undefined,
      validate: KEEPALIVED_VALIDATE,
    }).named(`${KEEPALIVED_CONF} (checked by keepalived -t first)`),
    service({ name: 'keepalived', enabled: true }).named('keepalived enabled at boot'),
    keepalivedRuns(),
  ],
})
