// pg13-standby: a hot standby streaming from the primary through its slot, as
// the field runbook (seed 001, step 5) builds it by hand with pg_basebackup -R,
// but refusing to replace a data directory that holds anything but a pristine
// cluster or a standby of this very primary.
import { defineRole, type Task } from '../../src/index.ts'
import { clusterOf, configTasks, handlersFor, installTasks, primarySettings, replicationPassfile } from '../postgres/common-tasks.ts'
import { unitName } from '../postgres/layout.ts'
import { checkPostgresOptions, type Fail, POSTGRES_DEFAULTS, type PostgresOptions } from '../postgres/options.ts'
import type { SettingValue } from '../postgres/settings.ts'
import { standbyData } from '../postgres/standby-data.ts'

export interface PgStandbyOptions extends PostgresOptions {
  /** The primary's address, as the standby reaches it. */
  primaryHost: string
  primaryPort: number
  /** The slot the primary keeps for this standby (slotNameFor(host)). */
  slotName: string
  /** Replace a data directory holding other data (it is kept beside, renamed). */
  replaceDataDir: boolean
  maxStandbyStreamingDelay: string
  walReceiverStatusInterval: string
  hotStandbyFeedback: boolean
}

export const pg13StandbyDefaults = {
  ...POSTGRES_DEFAULTS,
  primaryPort: 5432,
  replaceDataDir: false,
  maxStandbyStreamingDelay: '30s',
  walReceiverStatusInterval: '10s',
  hotStandbyFeedback: true,
}

const DURATION = /^\d+(ms|s|min|h|d)?$/

export const pg13Standby = defineRole<PgStandbyOptions, typeof pg13StandbyDefaults>({
  name: 'pg13-standby',
  defaults: pg13StandbyDefaults,
  required: ['dataDir', 'archiveDir', 'replicationPassword', 'replicationFrom', 'harborClients', 'primaryHost', 'slotName'],
  validate: (o, fail) => {
    // fail is typed to this role's option names; the shared checks name the shared ones.
    const f = fail as unknown as Fail
    checkPostgresOptions(o, f, { ownedSettings: ['hot_standby', 'hot_standby_feedback', 'max_standby_streaming_delay', 'wal_receiver_status_interval', 'recovery_target_timeline'] })
    if (typeof o.primaryHost !== 'string' || !/^[A-Za-z0-9.:-]+$/.test(o.primaryHost)) fail('primaryHost', `must be an address or host name, got ${JSON.stringify(o.primaryHost)}`)
    if (!Number.isInteger(o.primaryPort) || o.primaryPort < 1 || o.primaryPort > 65535) fail('primaryPort', `must be a TCP port, got ${JSON.stringify(o.primaryPort)}`)
    if (typeof o.slotName !== 'string' || !/^[a-z0-9_]{1,63}$/.test(o.slotName)) fail('slotName', `must be a slot name (lower case, digits, _), got ${JSON.stringify(o.slotName)}`)
    if (typeof o.replaceDataDir !== 'boolean') fail('replaceDataDir', 'must be true or false')
    for (const k of ['maxStandbyStreamingDelay', 'walReceiverStatusInterval'] as const)
      if (typeof o[k] !== 'string' || !DURATION.test(o[k])) fail(k, `must be a duration such as '30s', got ${JSON.stringify(o[k])}`)
    if (typeof o.hotStandbyFeedback !== 'boolean') fail('hotStandbyFeedback', 'must be true or false')
  },
  tasks: (o): Task[] => {
    const role = 'pg13-standby'
    const handlers = handlersFor(o)
    const c = clusterOf(o)
    const passfile = replicationPassfile(o)
    const settings: Record<string, SettingValue> = {
      ...primarySettings(o),
      hot_standby: true,
      max_standby_streaming_delay: o.maxStandbyStreamingDelay,
      wal_receiver_status_interval: o.walReceiverStatusInterval,
      hot_standby_feedback: o.hotStandbyFeedback,
      recovery_target_timeline: 'latest',
      // No password here: libpq reads it from the passfile.
      primary_conninfo: `host=${o.primaryHost} port=${o.primaryPort} user=${o.replicationUser} passfile=${passfile.path} application_name=${o.slotName}`,
      primary_slot_name: o.slotName,
    }
    const input = { role, options: o, handlers, settings }
    return [
      ...installTasks(input),
      passfile.task,
      standbyData({
        role,
        ...c,
        dataDir: o.dataDir,
        primary: { host: o.primaryHost, port: o.primaryPort, user: o.replicationUser, passfile: passfile.path },
        slot: o.slotName,
        unit: unitName(c),
        replaceDataDir: o.replaceDataDir,
        stamp: () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, ''),
      }).named('data directory: a base backup of the primary'),
      ...configTasks(input),
    ]
  },
})
