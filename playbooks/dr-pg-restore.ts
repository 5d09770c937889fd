#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Drill: disaster recovery from backups (seed 001, step 10: "a single-node
// PostgreSQL restored from the last full backup, Harbor pointed at it"). Under
// a writer that logs every acknowledged row:
//
//   1. a full base backup of the primary (pg_basebackup, plain, with its
//      manifest), checked with pg_verifybackup, kept on the restore host;
//   2. the writer goes on; with drill.recoveryTarget=midway a moment during
//      that is the target;
//   3. the disaster: whatever the WAL archive holds now is all that survives
//      (with drill.switchWal=true the current segment is archived first, the
//      best case; without, its rows are lost, as they would be);
//   4. on the restore host, a new cluster from a copy of the backup, WAL
//      fetched from a copy of the archive (restore_command), to the latest
//      point or the target time, promoted at the end, with archive_mode off so
//      it can never write into an archive;
//   5. with drill.pointHarbor=true (and drill.keep=true), Harbor nodes played are pointed at it;
//   6. the rows counted against the writer's log: acknowledged before the
//      disaster (or the target) and missing is the RPO.
//
// The primary's data directory and its archive are only read: the archive's
// files are listed (name, size, mtime, inode) before and after and must be the
// same; the restored cluster must not have archived anything. Everything the
// drill makes lives in drill.workDir on the restore host and the cluster
// drill.cluster; both must not exist before, and are removed afterwards unless
// drill.keep=true.
//
//   ./playbooks/dr-pg-restore.ts -i inventory/lab.yml --limit postgres
//   ... -e drill.target=db2             the restore host (default: the first standby); PostgreSQL installed
//   ... -e drill.recoveryTarget=latest  or midway, or a time ('2026-12-04 15:00:00+00')
//   ... -e drill.switchWal=true         archive the current WAL segment at the disaster (best case)
//   ... -e drill.port=5433 drill.cluster=restore drill.workDir=/var/lib/berth/drill-restore drill.keep=false
//   ... -e drill.pointHarbor=true -e drill.keep=true   Harbor nodes played use the restored cluster afterwards (a real recovery)
import { BerthError, ConfigError, playbook, reveal, sh, type Secret } from '../src/index.ts'
import { drill, DrillAbort } from '../src/drill/drill.ts'
import { waitUntil } from '../src/wait-until.ts'
import { binDir } from '../roles/postgres/layout.ts'
import { pgpassLine, psql, sqlLiteral } from '../roles/postgres/psql.ts'
import { clusterAt, observeTopology } from './tiers/database.ts'
import { harborTier } from './tiers/harbor.ts'
import { redisEndpoints } from './tiers/redis.ts'
import { act, archiveFilesNeeded, describeTopology, drillVars, dropWriterTableCommand, primaryAndStandbys, query, targetTimeMs, topologyBefore, writerDatabase, writerSteps } from './drills/postgres.ts'

interface DrillVars {
  target?: string
  recoveryTarget?: string
  switchWal?: boolean
  port?: number
  cluster?: string
  workDir?: string
  keep?: boolean
  pointHarbor?: boolean
  reportDir?: string
}

await playbook('dr-pg-restore: restore the PostgreSQL primary from its base backup and WAL archive onto another host', async (pb) => {
  const vars = drillVars<DrillVars>(pb)
  const port = vars.port ?? 5433
  const clusterName = vars.cluster ?? 'restore'
  const work = vars.workDir ?? '/var/lib/berth/drill-restore'
  const recoveryTarget = vars.recoveryTarget ?? 'latest'
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`drill.port must be a TCP port, got ${JSON.stringify(vars.port)}`)
  if (!/^[a-z0-9_-]+$/.test(clusterName)) throw new ConfigError(`drill.cluster must be a cluster name (lower case, digits, _ and -), got ${JSON.stringify(clusterName)}`)
  if (!/^\/[A-Za-z0-9._/-]+$/.test(work) || work.split('/').length < 3) throw new ConfigError(`drill.workDir must be an absolute path two levels deep at least, got ${JSON.stringify(work)}`)
  // A time with its offset: the server and this machine may not share a time zone.
  if (recoveryTarget !== 'latest' && recoveryTarget !== 'midway' && Number.isNaN(targetTimeMs(recoveryTarget)))
    throw new ConfigError(`drill.recoveryTarget must be latest, midway or a time with its offset, got ${JSON.stringify(recoveryTarget)}`, { hint: "e.g. -e 'drill.recoveryTarget=2026-12-04 15:00:00+00'" })
  // Harbor on the restored copy while the primary runs would split its writes; the copy must then stay.
  if (vars.pointHarbor && !vars.keep) throw new ConfigError('drill.pointHarbor=true needs drill.keep=true: Harbor would be left on a cluster the drill removes')

  await drill(pb, { name: 'pg-restore', title: 'Restore of the PostgreSQL primary from a base backup and the WAL archive onto another host, under a writer; the primary and its archive are only read.', reportDir: vars.reportDir }, async (d) => {
    const before = await topologyBefore(pb, d)
    const { primary, standbys } = primaryAndStandbys(before)
    const targetName = vars.target ?? standbys[0]
    if (!targetName) throw new DrillAbort('no host to restore onto: name one with -e drill.target=HOST (PostgreSQL installed); nothing was done')
    if (targetName === primary) throw new DrillAbort(`drill.target is ${primary}, the running primary: the restore goes onto another host; nothing was done`)
    const P = pb.host(primary)
    const T = pb.host(targetName)
    const pc = clusterAt(P)
    const version = clusterAt(T).version
    const bin = binDir(version)
    const { database } = writerDatabase(P)
    const replicationUser = P.var<{ replicationUser?: string }>('pg', {}).replicationUser ?? 'replica'
    const archive = P.need<string>('pg.archiveDir', 'the drill')
    const data = `${work}/data`
    const restored = { version, port }
    const listArchive = async (): Promise<Map<string, string>> =>
      new Map(
        (await P.run(sh`cd ${archive} && find . -maxdepth 1 -type f -printf '%f %s %T@ %i\\n'`).quiet()).stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.split(' ')[0] as string, l]),
      )

    await d.steadyState('before', [
      { name: `${primary} accepts writes`, tolerance: 'not in recovery', probe: async () => ({ ok: (await query(P, 'SELECT pg_is_in_recovery()')) === 'f', observed: describeTopology(before)[primary] ?? '' }) },
      {
        name: `${primary} archives its WAL`,
        tolerance: 'archive_mode on, a file archived, no failed attempt since',
        probe: async () => {
          const r = await query(P, "SELECT current_setting('archive_mode') || ' ' || archived_count || ' ' || failed_count || ' ' || coalesce(last_failed_time > last_archived_time, last_archived_time IS NULL) FROM pg_stat_archiver")
          const [mode, archived, failed, failingNow] = r.split(' ')
          return { ok: mode === 'on' && failingNow === 'false', observed: `archive_mode ${mode}, ${archived} archived, ${failed} failed${failingNow === 'true' ? (archived === '0' ? ', nothing archived yet' : ', the last attempt failed') : ''}` }
        },
      },
      {
        name: `${T.name}: ${work} and cluster ${version}/${clusterName} do not exist, port ${port} is free`,
        tolerance: 'nothing there to overwrite',
        probe: async () => {
          const r = (await T.run(sh`test -e ${work} && echo "${work} exists"; pg_lsclusters -h 2>/dev/null | awk -v c=${clusterName} -v v=${String(version)} -v p=${String(port)} '($1==v && $2==c) {print "cluster " v "/" c " exists"} ($3==p) {print "port " p " is taken by " $1 "/" $2}'; test -x ${bin}/pg_ctl || echo "no PostgreSQL ${String(version)} at ${bin}"; echo probed`).quiet().nothrow()).stdout.trim()
          // The marker says the probe ran to its end: no output at all is not "free".
          return { ok: r === 'probed', observed: r === 'probed' ? 'free' : r.replace(/\n?probed$/, '').replace(/\n/g, '; ') || 'the probe did not run' }
        },
      },
    ])
    const archiveBefore = await listArchive()

    const { writer, run, cancelStop: cancelStopWriter } = await writerSteps(pb, d, { primary: P, client: T, addresses: [P.address] })
    // Whatever else fails, the drill's own directory and cluster go, unless kept.
    const cleanUp = async (): Promise<string> => {
      await T.run(sh`pg_dropcluster --stop ${String(version)} ${clusterName} 2>/dev/null; rm -rf -- ${work}`).quiet().nothrow()
      return `cluster ${version}/${clusterName} and ${work} removed from ${T.name}`
    }
    const cancelCleanUp = d.onRollback(`remove the drill's cluster and ${work} on ${T.name}`, cleanUp)

    const backup = await d.step(`base backup of ${primary} onto ${T.name}, verified`, async (s) => {
      const passfile = `${work}/replication.pgpass`
      await T.run(sh`install -d -o postgres -g postgres -m 0700 -- ${work}`)
      await T.writeFile(passfile, pgpassLine(P.address, pc.port, '*', replicationUser, reveal(P.need<string | Secret>('pg_replication_password', 'the drill'))), { mode: '0600', owner: 'postgres', sensitive: true })
      await act(pb, T.name, 'drill: base backup', `pg_basebackup of ${P.address}:${pc.port} into ${work}/base (plain, WAL streamed, manifest), then pg_verifybackup`, [
        sh`cd / && runuser -u postgres -- env PGPASSFILE=${passfile} ${bin}/pg_basebackup --host=${P.address} --port=${String(pc.port)} --username=${replicationUser} --no-password --pgdata=${work}/base --format=plain --wal-method=stream --checkpoint=fast --label=berth-drill-${run}`,
        sh`cd / && runuser -u postgres -- ${bin}/pg_verifybackup --quiet ${work}/base`,
      ])
      const label = (await T.run(sh`cat ${work}/base/backup_label`).quiet()).stdout
      const start = /START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)/.exec(label)?.[1]
      if (!start) throw new BerthError(`${T.name}: no start WAL file in ${work}/base/backup_label: ${label.slice(0, 200)}`)
      // Only pg_basebackup needed it.
      await T.run(sh`rm -f -- ${passfile}`)
      const size = (await T.run(sh`du -sb ${work}/base | cut -f1`).quiet()).stdout.trim()
      s.note(`${(Number(size) / 1e6).toFixed(1)} MB, starts in WAL file ${start}, pg_verifybackup: ok`)
      return { start, doneEpoch: Date.now() }
    })

    // Rows after the backup: what only the archive can bring back.
    await new Promise((r) => setTimeout(r, 2000))
    const target = recoveryTarget === 'midway' ? await query(P, "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US TZH:TZM')") : recoveryTarget === 'latest' ? undefined : recoveryTarget
    if (target) d.mark(`recovery target time: ${target}`)
    await new Promise((r) => setTimeout(r, 2000))

    const disaster = await d.fault(`the disaster: ${primary} is lost; only its archive survives`, async (s) => {
      // The writer first: every row it acknowledged is in WAL written before the archive is taken.
      const samples = await writer.stop()
      cancelStopWriter()
      let current = await query(P, 'SELECT pg_walfile_name(pg_current_wal_lsn())')
      if (vars.switchWal) {
        const switched = await query(P, 'SELECT pg_walfile_name(pg_switch_wal())')
        // The switched segment is archived within a moment: wait for it, bounded.
        const w = await waitUntil(() => query(P, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"), (x) => x >= switched, { timeoutMs: 10_000, intervalMs: 100 })
        if (!w.ok) d.mark(`${switched} was not archived within 10 s (last archived: ${w.value ?? '?'})`)
        current = await query(P, 'SELECT pg_walfile_name(pg_current_wal_lsn())')
      }
      // What the archive holds now is what survives: what the primary archives later does not count.
      const survivors = archiveFilesNeeded([...(await listArchive()).keys()], backup.start)
      const timeout = await query(P, "SELECT current_setting('archive_timeout')")
      s.note(`writer stopped: ${samples.filter((x) => x.ok).length} rows acknowledged; WAL being written: ${current}${vars.switchWal ? ' (the segment before it was switched out for the archive)' : ` (not archived: lost; archive_timeout is ${timeout}${timeout === '0' ? ', so a segment is archived only when full: set pg.settings.archive_timeout to bound the loss' : ''})`}`)
      return { samples, survivors }
    })

    const copied = await d.step(`copy the archive's surviving files from ${primary} to ${T.name} (read only on ${primary})`, async (s) => {
      const files = disaster.survivors
      await T.run(sh`install -d -o postgres -g postgres -m 0700 -- ${work}/wal`)
      let bytes = 0
      for (const f of files) {
        const content = await P.readFile(`${archive}/${f}`)
        bytes += content.length
        await T.writeFile(`${work}/wal/${f}`, content, { mode: '0600', owner: 'postgres' })
      }
      s.note(`${files.length} files (${(bytes / 1e6).toFixed(1)} MB) from ${backup.start} on: ${files.at(0) ?? ''} … ${files.at(-1) ?? ''}`)
      return { files: files.length, bytes }
    })
    d.measure({ name: 'WAL restored from the archive', value: copied.bytes, unit: 'bytes', how: `${copied.files} files of ${archive} on ${primary}, from the backup's start segment ${backup.start}` })

    const restoreStart = Date.now()
    await d.step(`restore onto ${T.name}: cluster ${version}/${clusterName} on port ${port}, archive_mode off`, async (s) => {
      const settings = [
        '# Written by berth dr-pg-restore: a restore from a base backup and a copy of the WAL archive.',
        `port = ${port}`,
        "listen_addresses = '*'",
        // Never into an archive: this server's WAL is not the primary's history.
        'archive_mode = off',
        `restore_command = 'cp ${work}/wal/%f %p'`,
        "recovery_target_action = 'promote'",
        ...(target ? [`recovery_target_time = '${target.replace(/'/g, "''")}'`] : []),
        '',
      ].join('\n')
      await act(pb, T.name, 'drill: restore', `${data} from a copy of the base backup, cluster ${version}/${clusterName}, recovery.signal, ${target ? `to ${target}` : 'to the end of the archive'}`, [
        sh`cp -a -- ${work}/base ${data}`,
        sh`rm -f -- ${data}/standby.signal`,
        sh`runuser -u postgres -- touch ${data}/recovery.signal`,
        // pg_createcluster adopts a data directory that holds its configuration files (and moves them to /etc/postgresql).
        sh`install -o postgres -g postgres -m 0644 -- /usr/share/postgresql/${String(version)}/postgresql.conf.sample ${data}/postgresql.conf`,
        sh`printf '%s' ${settings} >> ${data}/postgresql.conf`,
        sh`if [ -f /etc/postgresql/${String(version)}/main/pg_hba.conf ]; then install -o postgres -g postgres -m 0640 -- /etc/postgresql/${String(version)}/main/pg_hba.conf ${data}/pg_hba.conf; else printf 'local all all peer\n' > ${data}/pg_hba.conf; fi`,
        sh`install -o postgres -g postgres -m 0640 -- /usr/share/postgresql/${String(version)}/pg_ident.conf.sample ${data}/pg_ident.conf`,
        sh`pg_createcluster ${String(version)} ${clusterName} -d ${data} -p ${String(port)}`,
        sh`systemctl start postgresql@${String(version)}-${clusterName}`,
      ])
      const w = await waitUntil(() => T.run(psql(restored, 'postgres', 'SELECT pg_is_in_recovery()')).quiet().then((r) => r.stdout.trim()), (x) => x === 'f', { timeoutMs: 120_000, intervalMs: 250 })
      if (!w.ok) {
        const log = (await T.run(sh`tail -n 15 /var/log/postgresql/postgresql-${String(version)}-${clusterName}.log`).quiet().nothrow()).stdout
        throw new BerthError(`the restored cluster on ${T.name} did not finish recovery within 120 s (${w.value ?? w.error}):\n${log}`)
      }
      s.note(`promoted after ${(w.waitedMs / 1000).toFixed(1)} s of recovery`)
    })
    d.measure({ name: 'restore: start to writes accepted on the restored cluster', value: Date.now() - restoreStart, unit: 'ms', how: 'controller clock, from copying the backup to pg_is_in_recovery() false' })

    await d.step('point the Harbor nodes at the restored cluster', async (s) => {
      const nodes = pb.hosts('harbor').map((h) => h.name)
      if (!vars.pointHarbor) return s.note('not asked (-e drill.pointHarbor=true -e drill.keep=true: Harbor then stays on the restored cluster; the playbook that built the stack points it back)')
      if (nodes.length === 0) return s.note('no Harbor node in this run (none in the inventory, or left out by --limit)')
      await harborTier(pb, { database: { name: T.name, address: T.address, port }, redis: redisEndpoints(pb) }).play()
      s.note(`${nodes.join(', ')}: harbor.yml names ${T.address}:${port}`)
    })

    await d.step('count the rows on the restored cluster', async (s) => {
      const restoredRows = new Set((await T.run(psql(restored, database, `SELECT n FROM berth_drill.writes WHERE run = ${sqlLiteral(run)}`)).quiet()).stdout.split('\n').filter(Boolean).map(Number))
      // When each acknowledged row was written, by the primary's clock (it is only read).
      const writtenAt = new Map(
        (await query(P, `SELECT n || ' ' || (extract(epoch FROM at) * 1000)::bigint FROM berth_drill.writes WHERE run = ${sqlLiteral(run)}`, database))
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ').map(Number) as [number, number]),
      )
      const acked = disaster.samples.filter((x) => x.ok).map((x) => Number(x.id))
      const targetMs = target ? targetTimeMs(target) : undefined
      // Around the target a row written just before it may commit just after: 100 ms either side is not judged.
      const due = acked.filter((n) => targetMs === undefined || (writtenAt.get(n) ?? Infinity) < targetMs - 100)
      const tooMany = targetMs === undefined ? [] : [...restoredRows].filter((n) => (writtenAt.get(n) ?? 0) > targetMs + 100)
      const lost = due.filter((n) => !restoredRows.has(n))
      d.measure({ name: `RPO: acknowledged rows lost${target ? ' (written before the target time)' : ''}`, value: lost.length, unit: 'rows', how: `writer log (${due.length} acknowledged${target ? ' before the target' : ' before the disaster'}) against the restored cluster; ${vars.switchWal ? 'the last segment was archived at the disaster' : 'the segment being written at the disaster was not archived'}` })
      if (target) d.measure({ name: 'rows restored that were written after the target time', value: tooMany.length, unit: 'rows', how: 'the primary\'s row times against the target', target: { max: 0, binding: true } })
      s.note(`${acked.length} acknowledged, ${restoredRows.size} restored, ${lost.length} of ${due.length} due lost${target ? `, ${tooMany.length} past the target` : ''}`)
    })

    await d.steadyState('after', [
      {
        name: 'the restored cluster never archived',
        tolerance: "archive_mode off, pg_stat_archiver archived_count 0",
        probe: async () => {
          const r = (await T.run(psql(restored, 'postgres', "SELECT current_setting('archive_mode') || ' ' || archived_count FROM pg_stat_archiver")).quiet()).stdout.trim()
          return { ok: r === 'off 0', observed: r }
        },
      },
      {
        name: `${primary}'s archive: no file changed`,
        tolerance: 'every file there before has the same size, mtime and inode',
        probe: async () => {
          const now = await listArchive()
          const changed = [...archiveBefore].filter(([f, line]) => now.get(f) !== line).map(([f]) => f)
          return { ok: changed.length === 0, observed: changed.length === 0 ? `${archiveBefore.size} files as they were (${now.size - archiveBefore.size} archived since by ${primary} itself)` : `changed or gone: ${changed.join(', ')}` }
        },
      },
      { name: `${primary} still accepts writes`, tolerance: 'not in recovery', probe: async () => ({ ok: (await query(P, 'SELECT pg_is_in_recovery()')) === 'f', observed: 'primary' }) },
    ])
    const after = await observeTopology(pb, 'drill: what each database host is now')
    d.topology('after', { ...describeTopology(after), [`${T.name}:${port}`]: `restored cluster ${version}/${clusterName}${vars.keep ? ' (kept)' : ' (removed)'}` })

    await d.step('drop the writer table', () => act(pb, primary, 'drill: drop the writer table', 'schema berth_drill dropped', [dropWriterTableCommand(P, database)]))
    if (vars.keep) {
      cancelCleanUp()
      d.mark(`kept: cluster ${version}/${clusterName} on ${T.name}:${port} and ${work}; remove with: pg_dropcluster --stop ${version} ${clusterName}; rm -rf ${work}`)
    } else {
      cancelCleanUp()
      await d.step(`remove the drill's cluster and ${work} on ${T.name}`, async (s) => s.note(await cleanUp()))
    }
  })
})
