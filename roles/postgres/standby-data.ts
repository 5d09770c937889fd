// The standby's data directory: a copy of the primary taken with
// `pg_basebackup -R` through the standby's slot. It never destroys data it
// cannot vouch for: a directory that already streams from this primary is
// left alone, a pristine one (fresh from initdb) is replaced, and anything
// else (a primary with data, a standby of another cluster) stops the run
// unless `replaceDataDir` says so, and even then it is kept beside, renamed.
import { BerthError, sh, task, withCommandOperations, type CommandsPlan, type Resource, type ShellCommand, type Task } from '../../src/index.ts'
import { dataDirFact, isPristine, type DataDirState } from './cluster-facts.ts'
import { binDir, type ClusterId } from './layout.ts'
import { primaryIdentityFact, type PrimaryEndpoint, type PrimaryIdentity } from './server-facts.ts'

export interface StandbyDataInput extends ClusterId {
  role: string
  dataDir: string
  primary: PrimaryEndpoint
  slot: string
  unit: string
  replaceDataDir: boolean
  /** Suffix for a replaced directory kept beside the new one (a timestamp). */
  stamp: () => string
}

export type StandbyDecision = 'keep' | 'take' | 'replace-pristine' | 'replace-kept'

/** Pure: what to do with the data directory, and why. Throws where berth must refuse. */
export function decideStandbyData(i: StandbyDataInput, d: DataDirState, primary: PrimaryIdentity): { decision: StandbyDecision; summary: string } {
  const from = `${i.primary.host}:${i.primary.port}`
  const refuse = (what: string): never => {
    throw new BerthError(`role ${i.role}: ${i.dataDir} holds ${what}; berth will not replace it with a copy of ${from}`, {
      hint: `if that data is not needed, set replaceDataDir: true (-e pg.replaceDataDir=true): the directory is kept beside as ${i.dataDir}.replaced-<time>, not deleted`,
    })
  }
  if (d.kind === 'not-a-directory' || d.kind === 'other-files') throw new BerthError(`role ${i.role}: option 'dataDir' (${i.dataDir}) is ${d.kind === 'other-files' ? 'a directory of other files' : 'not a directory'}`)
  if (d.kind === 'absent' || d.kind === 'empty') return { decision: 'take', summary: `take a base backup of ${from} into ${i.dataDir} (slot ${i.slot})` }
  if (d.kind !== 'cluster') throw new Error('unreachable')
  const lineage = primary.reachable && d.systemId !== undefined ? d.systemId === primary.systemId : undefined
  if (d.standby && lineage !== false)
    return { decision: 'keep', summary: lineage ? `standby of ${from} (system ${d.systemId})` : `standby (${from} not reachable to confirm: ${primary.reachable ? '' : primary.reason})` }
  if (isPristine(d)) return { decision: 'replace-pristine', summary: `replace the empty new cluster in ${i.dataDir} with a base backup of ${from} (slot ${i.slot})` }
  const what = d.standby ? `a standby of another cluster (system ${d.systemId}, the primary is ${primary.reachable ? primary.systemId : '?'})` : `a primary cluster with data (state: ${d.state ?? '?'})`
  if (!i.replaceDataDir) return refuse(what)
  return { decision: 'replace-kept', summary: `replace ${what} with a base backup of ${from}, keeping the old directory beside it` }
}

export function standbyDataCommands(i: StandbyDataInput, decision: StandbyDecision): ShellCommand[] {
  if (decision === 'keep') return []
  const incoming = `${i.dataDir}.berth-incoming`
  const discard = `${i.dataDir}.berth-discard`
  const cmds: ShellCommand[] = [
    sh`systemctl stop -- ${i.unit}`,
    // Leftovers of an interrupted run are berth's own temporary copies, never the data.
    sh`rm -rf -- ${incoming} ${discard}`,
    // pg_basebackup runs as postgres, which cannot create directories beside the data directory.
    sh`install -d -o postgres -g postgres -m 0700 -- ${incoming}`,
    sh`cd / && runuser -u postgres -- ${binDir(i.version)}/pg_basebackup --host=${i.primary.host} --port=${i.primary.port} --username=${i.primary.user} --no-password --pgdata=${incoming} --wal-method=stream --write-recovery-conf --slot=${i.slot} --checkpoint=fast`,
  ]
  if (decision === 'replace-kept') cmds.push(sh`mv -- ${i.dataDir} ${`${i.dataDir}.replaced-${i.stamp()}`}`)
  else if (decision === 'replace-pristine') cmds.push(sh`mv -- ${i.dataDir} ${discard}`)
  // An empty data directory (left by an interrupted run, say) goes first; rmdir refuses anything not empty.
  else cmds.push(sh`if [ -d ${i.dataDir} ]; then rmdir -- ${i.dataDir}; fi`)
  cmds.push(sh`mv -- ${incoming} ${i.dataDir}`, sh`rm -rf -- ${discard}`)
  return cmds
}

export function standbyData(i: StandbyDataInput): Task {
  const dir = dataDirFact(i.dataDir, i.version)
  const primary = primaryIdentityFact(i.version, i.primary)
  const res: Resource<CommandsPlan & { decision: StandbyDecision }> = {
    title: `${i.dataDir} is a standby of ${i.primary.host}:${i.primary.port}`,
    facts: () => [dir, primary],
    plan: (facts) => {
      const p = facts.get(primary)
      const { decision, summary } = decideStandbyData(i, facts.get(dir), p)
      return withCommandOperations({ changed: decision !== 'keep', summary, decision, commands: standbyDataCommands(i, decision) })
    },
  }
  return task(res)
}
