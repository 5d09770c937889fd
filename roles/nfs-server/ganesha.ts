// nfs-ganesha: NFSv4 from user space (FSAL VFS), for hosts whose kernel has no
// nfsd. Its configuration is two files (ganesha.conf, and the EXPORT blocks it
// includes); berth-ganesha-apply reloads or restarts it and fails unless its
// log and its export list say the exports are served. Whether that is needed is
// decided from recorded checksums, not from handlers: a run interrupted after
// writing the files still applies them on the next run.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { copy, fact, file, runOp, service, sh, ShellCommand, task, type FactValues, type Resource, type Task } from '../../src/index.ts'
import { exportId, GANESHA_CONF, GANESHA_EXPORTS, renderGaneshaCore, renderGaneshaExports } from './exports.ts'
import type { NfsExport } from './options.ts'

export const APPLY_SCRIPT = '/usr/local/sbin/berth-ganesha-apply'
export const GANESHA_STATE = '/var/lib/berth/nfs-ganesha'
const SCRIPT_TEXT = readFileSync(fileURLToPath(new URL('./files/berth-ganesha-apply', import.meta.url)), 'utf8')

export interface GaneshaState {
  /** Each file's inode and sha256 (`stat -c '%i %n'`, `sha256sum`) as the last successful apply recorded them. */
  applied: string | undefined
  /** The same, now. */
  current: string
  active: boolean
  /** `ID:PATH` of every export ganesha serves (D-Bus ShowExports), the pseudo root (0) left out. */
  loaded: string[]
}

const SEP = '--berth--'

export function parseGaneshaState(o: { stdout: string }): GaneshaState {
  const [applied = '', current = '', active = '', loaded = ''] = o.stdout.split(`${SEP}\n`)
  return {
    applied: applied.trim() === '' ? undefined : applied.trim(),
    current: current.trim(),
    active: active.trim() === 'active',
    loaded: loaded.split('\n').filter((l) => /^\d+:/.test(l) && !l.startsWith('0:')),
  }
}

export const ganeshaStateFact = fact(
  'nfs-ganesha-state',
  new ShellCommand(
    [
      `cat ${GANESHA_STATE}/applied 2>/dev/null; echo ${SEP}`,
      `stat -c '%i %n' ${GANESHA_CONF} ${GANESHA_EXPORTS} 2>/dev/null; sha256sum ${GANESHA_CONF} ${GANESHA_EXPORTS} 2>/dev/null; echo ${SEP}`,
      `systemctl is-active nfs-ganesha; echo ${SEP}`,
      `dbus-send --system --print-reply --dest=org.ganesha.nfsd /org/ganesha/nfsd/ExportMgr org.ganesha.nfsd.exportmgr.ShowExports 2>/dev/null | awk '/uint16/ { id = $2 } /string "/ && id != "" { p = $2; gsub(/"/, "", p); print id ":" p; id = "" }'`,
    ].join('; '),
  ),
  parseGaneshaState,
)

/** What was recorded of one file: its inode and its checksum lines (a file written again has a new inode: berth writes by rename). */
const linesFor = (record: string | undefined, path: string): string =>
  (record ?? '')
    .split('\n')
    .filter((l) => l.endsWith(` ${path}`))
    .join('\n')

/** Pure: restart (not running, or ganesha.conf changed), reload (exports changed, or not all served), or nothing. */
export function planGanesha(exports: readonly NfsExport[], s: GaneshaState): { changed: boolean; summary: string; mode?: 'restart' | 'reload'; wanted: string[] } {
  const wanted = exports.map((e) => `${exportId(e.path)}:${e.path}`)
  const missing = wanted.filter((w) => !s.loaded.includes(w))
  const extra = s.loaded.filter((l) => !wanted.includes(l))
  if (!s.active) return { changed: true, mode: 'restart', summary: 'start nfs-ganesha and check what it serves', wanted }
  if (!s.applied || linesFor(s.applied, GANESHA_CONF) !== linesFor(s.current, GANESHA_CONF)) return { changed: true, mode: 'restart', summary: `restart nfs-ganesha: ${GANESHA_CONF} is not the one it was last started with`, wanted }
  if (s.applied !== s.current) return { changed: true, mode: 'reload', summary: `reload nfs-ganesha: ${GANESHA_EXPORTS} was written since it was last applied`, wanted }
  if (missing.length > 0 || extra.length > 0)
    return {
      changed: true,
      mode: 'reload',
      summary: `reload nfs-ganesha: it ${[missing.length ? `does not serve ${missing.join(', ')}` : '', extra.length ? `serves ${extra.join(', ')}, not asked for` : ''].filter(Boolean).join(' and ')}`,
      wanted,
    }
  return { changed: false, summary: `serves ${wanted.map((w) => w.replace(/^\d+:/, '')).join(', ')}`, wanted }
}

export function ganeshaServes(exports: readonly NfsExport[]): Task {
  const res: Resource = {
    title: 'nfs-ganesha serves the written exports',
    facts: () => [ganeshaStateFact],
    plan: (f: FactValues) => {
      const p = planGanesha(exports, f.get(ganeshaStateFact))
      if (!p.changed || !p.mode) return { changed: false, summary: p.summary }
      return { changed: true, summary: p.summary, operations: [runOp(sh`${APPLY_SCRIPT} ${p.mode} ${p.wanted}`)] }
    },
  }
  return task(res)
}

export function ganeshaTasks(exports: readonly NfsExport[]): Task[] {
  return [
    service({ name: 'nfs-ganesha', enabled: true }).named('nfs-ganesha enabled at boot'),
    copy({ path: APPLY_SCRIPT, content: SCRIPT_TEXT, mode: '0755' }).named(`${APPLY_SCRIPT} (reload and check)`),
    file({ path: GANESHA_STATE, state: 'directory', mode: '0700' }).named('nfs-ganesha state directory (checksums, last good configuration)'),
    copy({ path: GANESHA_EXPORTS, content: renderGaneshaExports(exports), mode: '0644' }).named(GANESHA_EXPORTS),
    copy({ path: GANESHA_CONF, content: renderGaneshaCore(), mode: '0644' }).named(GANESHA_CONF),
    ganeshaServes(exports),
  ]
}
