// The tasks both PostgreSQL roles run, in order: packages, the cluster, its
// settings and pg_hba.conf, the service. Settings that only a restart applies
// live in their own file, so a change to them notifies the restart handler and
// any other change only a reload.
import { apt, aptRepository, copy, file, handler, lineInFile, quote, reveal, service, template, waitFor, type Handler, type Task } from '../../src/index.ts'
import { autoConfWithoutManaged, createCluster, dropPackageDefaultCluster, preflight } from './cluster.ts'
import { hbaRules } from './hba.ts'
import { CREATECLUSTER_CONF, binDir, confDir, POSTGRES_HOME, unitName, type ClusterId } from './layout.ts'
import type { PostgresOptions } from './options.ts'
import { databasesFor } from './options.ts'
import { pgpassLine } from './psql.ts'
import { reloadOrRestart } from './sql-resources.ts'
import { splitByRestart, settingLines, type SettingValue } from './settings.ts'
import { startGuardTasks } from './start-guard.ts'

export interface Handlers {
  /** Notified by changes to settings only a restart applies. */
  restart: Handler
  /** Notified by the rest, pg_hba.conf included. */
  reload: Handler
}

export const clusterOf = (o: PostgresOptions): ClusterId => ({ version: o.version, cluster: o.cluster })
export const serverOf = (o: PostgresOptions) => ({ version: o.version, port: o.port })
export const databasesOf = (o: PostgresOptions): string[] => o.databases ?? databasesFor(o.harborVersion)

/**
 * Both are one handler: reload, then restart only if PostgreSQL reports a
 * setting pending a restart. A restart-only setting changed on a running server
 * is pending after the reload, so it restarts; a server started after the
 * files were written (a first run) is not restarted again for nothing.
 */
export function handlersFor(o: PostgresOptions): Handlers {
  const unit = unitName(clusterOf(o))
  const apply = handler(`apply settings to ${unit}`, reloadOrRestart(serverOf(o), unit))
  return { restart: apply, reload: apply }
}

/** Settings of a primary, kept on a standby too so that a promoted standby is a full primary. */
export function primarySettings(o: PostgresOptions): Record<string, SettingValue> {
  return {
    listen_addresses: o.listenAddresses.join(','),
    port: o.port,
    max_connections: o.maxConnections,
    wal_level: 'replica',
    // A failed primary can be rewound (pg_rewind) instead of copied again.
    wal_log_hints: true,
    archive_mode: 'on',
    archive_command: `test ! -f ${quote(o.archiveDir)}/%f && cp %p ${quote(o.archiveDir)}/%f`,
    max_wal_senders: o.maxWalSenders,
    max_replication_slots: o.maxReplicationSlots,
    // PostgreSQL 12 has no max_slot_wal_keep_size: a slot there can hold WAL without bound.
    ...(o.version >= 13 ? { max_slot_wal_keep_size: o.maxSlotWalKeepSize } : {}),
    password_encryption: 'scram-sha-256',
    // A standby's restart-only settings, on the primary too: PostgreSQL marks a
    // restart-only setting removed from the file as pending a restart even when
    // its default is the same value, so a promoted standby converged as the
    // primary (or a primary rejoined as a standby) would restart for nothing.
    hot_standby: true,
    recovery_target_timeline: 'latest',
    ...o.settings,
  }
}

export interface CommonInput {
  role: string
  options: PostgresOptions
  handlers: Handlers
  /** All postgresql.conf settings the role writes. */
  settings: Record<string, SettingValue>
}

/**
 * The packages and what must hold before them. A playbook may run these on
 * every database host in one play first, so the installs run in parallel;
 * inside the roles they are then a no-op.
 */
export function packageTasks(role: string, o: PostgresOptions, renamed: readonly string[] = role === 'pg13-standby' ? ['dataDir'] : []): Task[] {
  const c = clusterOf(o)
  const pkg = `postgresql-${o.version}`
  const tasks: Task[] = []
  if (o.packages.from === 'pgdg')
    tasks.push(aptRepository({ name: 'pgdg', uris: o.packages.uri, suites: o.packages.suite, components: 'main', key: o.packages.key }).named('PostgreSQL apt repository (pgdg)'))
  tasks.push(
    preflight({ role, ...c, package: pkg, directories: { dataDir: o.dataDir, archiveDir: o.archiveDir }, renamed }).named('preflight: package available, directories usable'),
    // The package would create its own cluster at /var/lib/postgresql/V/main; berth creates the one asked for.
    file({ path: CREATECLUSTER_CONF.slice(0, CREATECLUSTER_CONF.lastIndexOf('/')), state: 'directory', mode: '0755' }).named('postgresql-common settings directory'),
    copy({ path: CREATECLUSTER_CONF, content: '# Managed by berth: clusters are created by the PostgreSQL roles, where their options say.\ncreate_main_cluster = false\n', mode: '0644' }).named(
      'no automatic cluster from the package',
    ),
    apt({ packages: [pkg, `postgresql-client-${o.version}`], updateCache: true }).named(`packages ${pkg}`),
  )
  return tasks
}

/** Packages, directories, and the cluster registered at dataDir. */
export function installTasks({ role, options: o }: CommonInput): Task[] {
  const c = clusterOf(o)
  return [
    ...packageTasks(role, o),
    dropPackageDefaultCluster(role, c, o.dataDir).named('no unused package cluster in the way'),
    file({ path: o.dataDir.slice(0, o.dataDir.lastIndexOf('/')) || '/', state: 'directory' }).named('data directory parent'),
    createCluster({ role, ...c, dataDir: o.dataDir, port: o.port, locale: o.locale }).named(`cluster ${c.version}/${c.cluster}`),
    file({ path: o.dataDir, state: 'directory', owner: 'postgres', group: 'postgres', mode: '0700' }).named('data directory: postgres, 0700'),
    file({ path: o.archiveDir, state: 'directory', owner: 'postgres', group: 'postgres', mode: '0700' }).named('WAL archive directory: postgres, 0700'),
  ]
}

/** conf.d files, ALTER SYSTEM overrides removed, pg_hba.conf, the service running. */
export function configTasks({ role, options: o, handlers, settings }: CommonInput): Task[] {
  const c = clusterOf(o)
  const dir = confDir(c)
  const { restart, reload } = splitByRestart(settings)
  const conf = (name: string, purpose: string, values: Record<string, SettingValue>) =>
    template({ path: `${dir}/conf.d/${name}`, src: 'postgres/settings.conf.ejs', vars: { role, purpose, lines: settingLines(values) }, owner: 'postgres', group: 'postgres', mode: '0644' })
  return [
    lineInFile({ path: `${dir}/postgresql.conf`, regexp: /^\s*include_dir\s*=/, line: "include_dir = 'conf.d'" })
      .named('postgresql.conf reads conf.d')
      .notify(handlers.restart),
    conf('50-berth-restart.conf', 'Settings that only a restart applies.', restart).named('settings applied by a restart').notify(handlers.restart),
    conf('60-berth-reload.conf', 'Settings that a reload applies.', reload).named('settings applied by a reload').notify(handlers.reload),
    autoConfWithoutManaged(o.dataDir, new Set(Object.keys(settings))).named('no ALTER SYSTEM overrides of these settings').notify(handlers.restart),
    template({
      path: `${dir}/pg_hba.conf`,
      src: 'postgres/pg_hba.conf.ejs',
      vars: {
        role,
        rules: hbaRules({ replicationUser: o.replicationUser, replicationFrom: o.replicationFrom, clientUser: o.harborUser, clientDatabases: databasesOf(o), clientsFrom: o.harborClients }),
      },
      owner: 'postgres',
      group: 'postgres',
      mode: '0640',
    })
      .named('pg_hba.conf')
      .notify(handlers.reload),
    // Before the service: from now on, no start (this one, a reboot's) makes a second primary.
    ...startGuardTasks({ ...c, dataDir: o.dataDir, port: o.port, replicationUser: o.replicationUser, passfile: replicationPassfile(o).path, peers: o.replicationFrom }),
    service({ name: unitName(c), state: 'started', enabled: true }).named(`service ${unitName(c)}`),
    waitFor({ command: `${binDir(o.version)}/pg_isready -q -p ${o.port}` }, { timeoutMs: 60_000, intervalMs: 250 }).named('server accepts connections'),
  ]
}

/** ~postgres/.pgpass: the replication password for libpq, never on a command line. */
export function replicationPassfile(o: PostgresOptions): { path: string; task: Task } {
  const path = `${POSTGRES_HOME}/.pgpass`
  const content = `# Managed by berth: the replication password for every PostgreSQL host of the pair.\n${pgpassLine('*', o.port, '*', o.replicationUser, reveal(o.replicationPassword))}`
  return { path, task: copy({ path, content, owner: 'postgres', group: 'postgres', mode: '0600', sensitive: true }).named('replication password file (~postgres/.pgpass, 0600)') }
}
