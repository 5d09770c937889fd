// postgresql.conf settings: how values are written, which ones only a restart
// applies, and how postgresql.auto.conf (ALTER SYSTEM) is kept from overriding
// the settings berth manages.
export type SettingValue = string | number | boolean
export type Settings = Readonly<Record<string, SettingValue>>

/**
 * Settings whose context is `postmaster` in PostgreSQL 12 to 17 (pg_settings):
 * a reload leaves them pending, only a restart applies them. The reload
 * handler also asks the server (pg_settings.pending_restart), so a setting
 * missing here still ends in a restart, never in a silently ignored change.
 */
export const RESTART_SETTINGS: ReadonlySet<string> = new Set([
  'archive_mode',
  'autovacuum_max_workers',
  'cluster_name',
  'data_directory',
  'hba_file',
  'hot_standby',
  'huge_pages',
  'ident_file',
  'listen_addresses',
  'max_connections',
  'max_files_per_process',
  'max_locks_per_transaction',
  'max_logical_replication_workers',
  'max_pred_locks_per_transaction',
  'max_prepared_transactions',
  'max_replication_slots',
  'max_wal_senders',
  'max_worker_processes',
  'port',
  'recovery_target',
  'recovery_target_action',
  'recovery_target_inclusive',
  'recovery_target_lsn',
  'recovery_target_name',
  'recovery_target_time',
  'recovery_target_timeline',
  'recovery_target_xid',
  'shared_buffers',
  'shared_memory_type',
  'shared_preload_libraries',
  'superuser_reserved_connections',
  'track_commit_timestamp',
  'unix_socket_directories',
  'unix_socket_group',
  'unix_socket_permissions',
  'wal_buffers',
  'wal_level',
  'wal_log_hints',
])

export const needsRestart = (name: string): boolean => RESTART_SETTINGS.has(name.toLowerCase())

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/

export function checkSettingName(name: string): boolean {
  return SETTING_NAME.test(name)
}

/** A value as postgresql.conf writes it: numbers bare, booleans on/off, text single-quoted. */
export function settingLiteral(value: SettingValue): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`)
    return String(value)
  }
  if (/[\n\r\0]/.test(value)) throw new Error(`a postgresql.conf value cannot hold a line break or NUL: ${JSON.stringify(value)}`)
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/** Split into the settings a reload applies and the ones that need a restart. */
export function splitByRestart(settings: Settings): { restart: Record<string, SettingValue>; reload: Record<string, SettingValue> } {
  const restart: Record<string, SettingValue> = {}
  const reload: Record<string, SettingValue> = {}
  for (const [k, v] of Object.entries(settings)) (needsRestart(k) ? restart : reload)[k] = v
  return { restart, reload }
}

/** The lines of a conf.d file berth owns, sorted by name so the file is stable. */
export function settingLines(settings: Settings): string[] {
  return Object.keys(settings)
    .sort()
    .map((k) => `${k} = ${settingLiteral(settings[k] as SettingValue)}`)
}

/** The name a postgresql.conf-syntax line sets, or undefined for comments, blanks and includes. */
export function settingNameOf(line: string): string | undefined {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=|\s)/.exec(line)
  if (!m) return undefined
  const name = (m[1] as string).toLowerCase()
  return name === 'include' || name === 'include_dir' || name === 'include_if_exists' ? undefined : name
}

/**
 * Pure edit of postgresql.auto.conf: drop the lines that set any of `managed`.
 * ALTER SYSTEM writes there and it is read last, so a value left there would
 * override berth's file without showing up in it.
 */
export function withoutManagedSettings(text: string, managed: ReadonlySet<string>): { text: string; removed: string[] } {
  const removed: string[] = []
  const kept = text.split('\n').filter((line) => {
    const name = settingNameOf(line)
    if (name && managed.has(name)) {
      removed.push(name)
      return false
    }
    return true
  })
  return { text: kept.join('\n'), removed }
}
