// The start guard: a fence that survives a reboot. A primary that dies and
// comes back (power restored, a reboot) starts PostgreSQL at boot, by itself,
// before any operator or tool has a say; if a standby was promoted meanwhile,
// that is a second writable primary (split brain). Patroni prevents it with its
// DCS leader key, pg_auto_failover with its monitor; berth has neither, so
// systemd asks a small script before it starts the cluster (ExecStartPre):
//
//   - a standby (standby.signal or recovery.signal) always starts: it cannot
//     accept writes;
//   - a host that was fenced (FENCE_FILE) does not start as a primary;
//   - nor one whose peer of the same system runs on a later timeline (it was
//     promoted while this one was away): the guard writes the fence then, so
//     it holds even when that peer is unreachable at the next boot;
//   - nor one that crashed (not shut down cleanly) while no peer answers:
//     nothing says it is still the newest (it waits 30 s for one first: after
//     a power loss of the whole pair the peers boot too). `touch
//     START_ANYWAY_FILE` lets the next start through once, without the checks
//     (the operator's decision).
//
// The timeline is the newer of the last checkpoint's and the newest history
// file's in pg_wal: a promotion writes the history file at once, its first
// checkpoint later. A system identifier or timeline it cannot read is a refusal.
//
// Peers are asked IDENTIFY_SYSTEM over a replication connection, with the
// replication password file both roles write. The guard cannot stop
// `pg_ctl start` run by hand, nor a primary that starts while cut off from a
// peer that was promoted after a clean shutdown: a power fence (berth_power_off)
// covers those.
import { copy, fact, file, runOp, sh, task, type FactValues, type Resource, type Task } from '../../src/index.ts'
import { binDir, unitName, type ClusterId } from './layout.ts'
import { FENCE_FILE } from './topology.ts'

export const START_GUARD = '/usr/local/lib/berth/postgres-start-guard'
export const START_ANYWAY_FILE = '/var/lib/berth/postgres/start-anyway'

export const startGuardDropin = (c: ClusterId): string => `/etc/systemd/system/${unitName(c)}.service.d/berth-start-guard.conf`

/** The script (static: what varies comes as arguments from the drop-in). */
export const START_GUARD_SCRIPT = `#!/bin/sh
# Managed by berth (pg13-primary, pg13-standby): run by systemd before the
# PostgreSQL cluster starts. It refuses (exit 1, the reason in the journal) to
# start the cluster as a primary when it was fenced, when a peer runs on a later
# timeline (it was promoted), or when it crashed and no peer answers.
#   postgres-start-guard BINDIR DATADIR PORT USER PASSFILE PEER...
set -u
bin=$1 data=$2 port=$3 user=$4 passfile=$5
shift 5
fence=${FENCE_FILE}
once=${START_ANYWAY_FILE}
refuse() {
  echo "berth start guard: $data will not start as a primary: $*" >&2
  exit 1
}
fence() {
  mkdir -p "\${fence%/*}" && printf '%s\\n' "$*" >"$fence.tmp" && mv -f "$fence.tmp" "$fence"
}
if [ -f "$data/standby.signal" ] || [ -f "$data/recovery.signal" ]; then exit 0; fi
if [ -f "$once" ]; then
  rm -f "$once"
  echo "berth start guard: $once was there: this start goes through without the checks" >&2
  exit 0
fi
if [ -f "$fence" ]; then
  refuse "it was fenced ($(cat "$fence")). Rejoin it as a standby of the new primary, or, if it really is the primary, remove $fence"
fi
control=$(LC_ALL=C "$bin/pg_controldata" "$data" 2>&1) || refuse "pg_controldata failed: $control"
sysid=$(printf '%s\\n' "$control" | sed -n 's/^Database system identifier: *//p')
tl=$(printf '%s\\n' "$control" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
state=$(printf '%s\\n' "$control" | sed -n 's/^Database cluster state: *//p')
# A promotion writes its history file at once, its first checkpoint later: the newest history file says the timeline sooner.
for h in "$data"/pg_wal/*.history; do
  [ -f "$h" ] || continue
  n=\${h##*/}
  n=$((0x\${n%.history}))
  [ "$n" -gt "$tl" ] 2>/dev/null && tl=$n
done
case "$sysid" in '' | *[!0-9]*) refuse "pg_controldata did not say its system identifier: $control" ;; esac
case "$tl" in '' | *[!0-9]*) refuse "pg_controldata did not say its timeline: $control" ;; esac
# This host's own addresses, not asked as peers.
own=" $(ip -o addr show 2>/dev/null | awk '{sub(/\\/.*/, "", $4); printf "%s ", $4}') $(hostname -I 2>/dev/null) "
ask_peers() {
  others=0 answered=0 silent=""
  for peer in "$@"; do
    case "$own" in *" $peer "*) continue ;; esac
    others=$((others + 1))
    r=$(cd / && runuser -u postgres -- env PGCONNECT_TIMEOUT=3 "$bin/psql" -XAtq -F ' ' "host=$peer port=$port user=$user dbname=replication replication=true passfile=$passfile" -c IDENTIFY_SYSTEM 2>/dev/null) || {
      silent="$silent $peer"
      continue
    }
    psys=\${r%% *}
    rest=\${r#* }
    ptl=\${rest%% *}
    case "$psys$ptl" in '' | *[!0-9]*) silent="$silent $peer(unreadable answer)"; continue ;; esac
    answered=$((answered + 1))
    if [ "$psys" = "$sysid" ] && [ "$ptl" -gt "$tl" ]; then
      fence "$(date -u +%Y-%m-%dT%H:%M:%SZ) by the start guard: $peer runs timeline $ptl of system $sysid, later than this cluster's $tl (it was promoted)"
      refuse "$peer runs timeline $ptl of system $sysid, later than this cluster's $tl: it was promoted. Fenced: $fence"
    fi
  done
}
ask_peers "$@"
# After a power loss of the whole pair the peers boot too: a crashed primary waits for one to answer (30 s at most).
waited=0
while [ "$state" != "shut down" ] && [ "$others" -gt 0 ] && [ "$answered" -eq 0 ] && [ "$waited" -lt 30 ]; do
  sleep 3
  waited=$((waited + 3))
  ask_peers "$@"
done
if [ "$state" != "shut down" ] && [ "$others" -gt 0 ] && [ "$answered" -eq 0 ]; then
  refuse "it stopped uncleanly ('$state') and no peer answered in $waited s (${'$'}silent): nothing says it is still the newest primary. If it is, touch $once and start it again"
fi
exit 0
`

export interface StartGuardInput extends ClusterId {
  dataDir: string
  port: number
  replicationUser: string
  passfile: string
  /** Every database host's address (this host's own is skipped by the script); ranges and keywords are not peers. */
  peers: readonly string[]
}

/** Plain addresses only: replicationFrom may hold CIDR ranges or keywords, which cannot be asked. */
export const guardPeers = (replicationFrom: readonly string[]): string[] => replicationFrom.filter((a) => !a.includes('/') && /^[0-9A-Fa-f.:]+$/.test(a))

export function startGuardDropinContent(i: StartGuardInput): string {
  const args = [binDir(i.version), i.dataDir, String(i.port), i.replicationUser, i.passfile, ...guardPeers(i.peers)]
  return [
    `# Managed by berth (pg13-primary, pg13-standby): ${START_GUARD} decides whether this cluster may start (see the script).`,
    '[Unit]',
    // The guard asks its peers: the network must be up first.
    'Wants=network-online.target',
    'After=network-online.target',
    '[Service]',
    `ExecStartPre=${START_GUARD} ${args.join(' ')}`,
    '',
  ].join('\n')
}

export const execStartPreFact = (c: ClusterId) =>
  fact(`exec-start-pre-${unitName(c)}`, sh`systemctl show -p ExecStartPre --value -- ${unitName(c)}`, (o) => o.stdout)

/** systemd has read the drop-in (asked of systemd, not remembered in a handler: an interrupted run reloads next time). */
function guardLoaded(i: StartGuardInput): Task {
  const f = execStartPreFact(i)
  const expected = `${START_GUARD} ${[binDir(i.version), i.dataDir, String(i.port), i.replicationUser, i.passfile, ...guardPeers(i.peers)].join(' ')}`
  const res: Resource = {
    title: `systemd runs the start guard before ${unitName(i)}`,
    facts: () => [f],
    plan: (facts: FactValues) =>
      // systemctl show prints "{ path=… ; argv[]=ARGS ; … }".
      facts.get(f).includes(`argv[]=${expected} ;`)
        ? { changed: false, summary: 'ExecStartPre: the start guard' }
        : { changed: true, summary: 'systemctl daemon-reload: systemd has not read the drop-in yet', operations: [runOp(sh`systemctl daemon-reload`)] },
  }
  return task(res)
}

export function startGuardTasks(i: StartGuardInput): Task[] {
  const dropin = startGuardDropin(i)
  return [
    file({ path: START_GUARD.slice(0, START_GUARD.lastIndexOf('/')), state: 'directory', mode: '0755' }).named('berth scripts directory'),
    // Where the fence record and start-anyway go: there before anyone needs to touch a file in it.
    file({ path: FENCE_FILE.slice(0, FENCE_FILE.lastIndexOf('/')), state: 'directory', mode: '0755' }).named('start guard state directory'),
    copy({ path: START_GUARD, content: START_GUARD_SCRIPT, mode: '0755' }).named('start guard: never a second primary at boot'),
    file({ path: dropin.slice(0, dropin.lastIndexOf('/')), state: 'directory', mode: '0755' }).named(`${unitName(i)}.service.d`),
    copy({ path: dropin, content: startGuardDropinContent(i), mode: '0644' }).named('start guard drop-in (ExecStartPre)'),
    guardLoaded(i),
  ]
}
