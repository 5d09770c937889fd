// keepalived running the written keepalived.conf: started when it is not
// running, reloaded (SIGHUP: the address stays where it is) when the file was
// written since it was last applied. As for nfs-server, that is decided from a
// record of what was applied (inode and checksum), not from a handler: a run
// interrupted after the write applies it on the next run.
import { fact, runOp, ShellCommand, task, type FactValues, type Resource, type Task } from '../../src/index.ts'
import { KEEPALIVED_CONF } from './config.ts'

export const KEEPALIVED_STATE = '/var/lib/berth/keepalived'
const SEP = '--berth--'
const RECORD = `stat -c '%i %n' ${KEEPALIVED_CONF} && sha256sum ${KEEPALIVED_CONF}`

export interface KeepalivedState {
  /** The file's inode and sha256 when it was last started or reloaded with it. */
  applied: string | undefined
  current: string
  active: boolean
}

export function parseKeepalivedState(o: { stdout: string }): KeepalivedState {
  const [applied = '', current = '', active = ''] = o.stdout.split(`${SEP}\n`)
  return { applied: applied.trim() === '' ? undefined : applied.trim(), current: current.trim(), active: active.trim() === 'active' }
}

export const keepalivedStateFact = fact(
  'keepalived-state',
  new ShellCommand(`cat ${KEEPALIVED_STATE}/applied 2>/dev/null; echo ${SEP}; ${RECORD} 2>/dev/null; echo ${SEP}; systemctl is-active keepalived 2>/dev/null || true`),
  parseKeepalivedState,
)

/** Pure: start, reload, or nothing. Never a restart: it would drop the address for nothing. */
export function planKeepalived(s: KeepalivedState): { mode?: 'start' | 'reload'; summary: string } {
  if (!s.active) return { mode: 'start', summary: 'start keepalived' }
  if (s.applied !== s.current) return { mode: 'reload', summary: `reload keepalived: ${KEEPALIVED_CONF} was written since it was last applied` }
  return { summary: `keepalived runs ${KEEPALIVED_CONF} as written` }
}

/** systemctl start or reload, a check that keepalived still runs, then the record; each failure says which step failed. */
export function applyKeepalived(mode: 'start' | 'reload'): ShellCommand {
  return new ShellCommand(
    [
      `systemctl ${mode} keepalived || { echo "systemctl ${mode} keepalived failed:" >&2; journalctl -u keepalived -n 15 --no-pager >&2; exit 1; }`,
      // A reload returns once the signal is sent: give the daemon a moment to read the file, then ask.
      'sleep 0.3',
      `systemctl is-active --quiet keepalived || { echo "keepalived is not running after ${mode}:" >&2; journalctl -u keepalived -n 15 --no-pager >&2; exit 1; }`,
      `{ ${RECORD}; } > ${KEEPALIVED_STATE}/applied`,
    ].join('\n'),
  )
}

export function keepalivedRuns(): Task {
  const res: Resource = {
    title: 'keepalived runs the written configuration',
    facts: () => [keepalivedStateFact],
    plan: (f: FactValues) => {
      const p = planKeepalived(f.get(keepalivedStateFact))
      return p.mode ? { changed: true, summary: p.summary, operations: [runOp(applyKeepalived(p.mode))] } : { changed: false, summary: p.summary }
    },
  }
  return task(res)
}
