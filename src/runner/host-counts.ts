// The PLAY RECAP's per-host counters, counted as Ansible's strategy counts them
// (lib/ansible/plugins/strategy/__init__.py, _process_pending_results): `ok` is
// every task that succeeded, so a changed task adds to both `ok` and `changed`;
// a failure under ignoreErrors() adds to `ok` and `ignored`; `failed`,
// `unreachable` and `skipped` stand alone.
import type { HostCounts, Status } from '../report/events.ts'

/** How one task ended on one host, as the recap needs it. */
export type Outcome = Status | 'ignored' | 'unseen'

export function emptyCounts(): HostCounts {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, unseen: 0 }
}

/** `counts` after one more task ended with `outcome` (a new object; `counts` is not changed). */
export function tally(counts: HostCounts, outcome: Outcome): HostCounts {
  const next = { ...counts }
  switch (outcome) {
    case 'ok':
      next.ok++
      break
    case 'changed':
      next.ok++
      next.changed++
      break
    case 'ignored':
      next.ok++
      next.ignored++
      break
    // berth's own: a --check change whose state could not be seen yet is a change all the same.
    case 'unseen':
      next.ok++
      next.changed++
      next.unseen++
      break
    case 'failed':
      next.failed++
      break
    case 'unreachable':
      next.unreachable++
      break
    case 'skipped':
      next.skipped++
      break
  }
  return next
}
