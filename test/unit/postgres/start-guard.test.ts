// The start guard's decisions, run as the shell script it is, with stand-ins
// for pg_controldata, psql (a peer's IDENTIFY_SYSTEM answer, or silence),
// runuser and hostname, and its fence files moved into a scratch directory.
// Table: what the host's own control data says, what each peer answers, what
// is on disk; out: started or refused, and whether the fence was written.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FENCE_FILE } from '../../../roles/postgres/topology.ts'
import { guardPeers, START_ANYWAY_FILE, START_GUARD_SCRIPT, startGuardDropinContent } from '../../../roles/postgres/start-guard.ts'

const SYSID = '7409930517164146923'
const control = (state: string, tl: number) => `pg_control version number:            1300\nDatabase system identifier:           ${SYSID}\nDatabase cluster state:               ${state}\nLatest checkpoint's TimeLineID:       ${tl}\n`

interface Case {
  name: string
  state?: string
  timeline?: number
  /** Peer address -> IDENTIFY_SYSTEM row; absent = does not answer. */
  peers: Record<string, string | undefined>
  files?: ('standby.signal' | 'fenced' | 'start-anyway' | 'history-4')[]
  /** pg_controldata's output instead of the usual. */
  controlText?: string
  started: boolean
  /** The reason's words, when refused. */
  says?: RegExp
  fencedAfter?: boolean
}

const OWN = '10.0.0.11'

function runGuard(c: Case): { code: number; stderr: string; fence: string | undefined; onceLeft: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-guard-'))
  try {
    const bin = join(dir, 'bin')
    const data = join(dir, 'data')
    mkdirSync(bin)
    mkdirSync(data)
    writeFileSync(join(dir, 'control'), c.controlText ?? control(c.state ?? 'in production', c.timeline ?? 1))
    for (const [peer, row] of Object.entries(c.peers)) if (row !== undefined) writeFileSync(join(dir, `peer-${peer}`), row + '\n')
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`)
      chmodSync(join(bin, name), 0o755)
    }
    stub('pg_controldata', `cat ${dir}/control`)
    // psql ... "host=PEER port=… …" -c IDENTIFY_SYSTEM
    stub('psql', `for a in "$@"; do case "$a" in host=*) p=\${a#host=}; p=\${p%% *};; esac; done\n[ -f ${dir}/peer-$p ] || { echo "connection to server at $p failed" >&2; exit 2; }\ncat ${dir}/peer-$p`)
    stub('runuser', 'shift 3; exec "$@"')
    stub('hostname', `echo ${OWN}`)
    stub('ip', `echo "2: eth0    inet ${OWN}/24 brd 10.0.0.255 scope global eth0"`)
    // The wait for silent peers (30 s) without waiting.
    stub('sleep', 'exit 0')
    const fence = join(dir, 'state', 'fenced')
    const once = join(dir, 'state', 'start-anyway')
    mkdirSync(join(dir, 'state'))
    if (c.files?.includes('standby.signal')) writeFileSync(join(data, 'standby.signal'), '')
    if (c.files?.includes('history-4')) {
      mkdirSync(join(data, 'pg_wal'))
      writeFileSync(join(data, 'pg_wal', '00000004.history'), '3\t0/6000000\tno recovery target specified\n')
    }
    if (c.files?.includes('fenced')) writeFileSync(fence, 'fenced by hand\n')
    if (c.files?.includes('start-anyway')) writeFileSync(once, '')
    const script = join(dir, 'guard')
    writeFileSync(script, START_GUARD_SCRIPT.replaceAll(FENCE_FILE, fence).replaceAll(START_ANYWAY_FILE, once))
    const r = spawnSync('sh', [script, bin, data, '5432', 'replicator', '/nonexistent/.pgpass', OWN, ...Object.keys(c.peers)], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    })
    return { code: r.status ?? -1, stderr: r.stderr, fence: existsSync(fence) ? readFileSync(fence, 'utf8') : undefined, onceLeft: existsSync(once) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const CASES: Case[] = [
  { name: 'a clean primary whose standby answers on its timeline starts', state: 'shut down', timeline: 3, peers: { '10.0.0.12': `${SYSID} 3 0/5000060 ` }, started: true },
  { name: 'a crashed primary whose standby answers on its timeline starts (the standby was not promoted)', timeline: 3, peers: { '10.0.0.12': `${SYSID} 3 0/5000060 ` }, started: true },
  {
    name: 'a primary whose peer runs a later timeline is refused and fenced (written for the next boot)',
    timeline: 3,
    peers: { '10.0.0.12': `${SYSID} 4 0/6000060 ` },
    started: false,
    says: /10\.0\.0\.12 runs timeline 4 of system \d+, later than this cluster's 3: it was promoted\. Fenced/,
    fencedAfter: true,
  },
  { name: 'a later timeline of another system (another cluster at that address) is not this one\'s promotion', timeline: 3, peers: { '10.0.0.12': `1111111111 9 0/6000060 ` }, started: true },
  { name: 'a crashed primary with no peer answering is refused, naming the way to start it anyway', timeline: 3, peers: { '10.0.0.12': undefined }, started: false, says: /stopped uncleanly \('in production'\) and no peer answered in 30 s \( 10\.0\.0\.12\).*touch .*start-anyway/ },
  { name: 'a cleanly shut down primary with no peer answering starts (a planned restart of the whole pair)', state: 'shut down', timeline: 3, peers: { '10.0.0.12': undefined }, started: true },
  { name: 'a fenced primary is refused even when every peer agrees', state: 'shut down', timeline: 3, peers: { '10.0.0.12': `${SYSID} 3 0/5000060 ` }, files: ['fenced'], started: false, says: /it was fenced \(fenced by hand\)\. Rejoin it as a standby/ },
  { name: 'a standby always starts, fenced or not, whatever its peers say', timeline: 3, peers: { '10.0.0.12': `${SYSID} 7 0/6000060 ` }, files: ['standby.signal', 'fenced'], started: true },
  { name: 'start-anyway lets one start through, fence and all, and is used up', timeline: 3, peers: { '10.0.0.12': `${SYSID} 4 0/6000060 ` }, files: ['fenced', 'start-anyway'], started: true },
  { name: 'its own address is not asked (no peer: a lone primary that crashed starts)', timeline: 1, peers: {}, started: true },
  {
    name: 'a primary promoted just before it crashed (history file 4, last checkpoint still on 3) starts beside its standby on 4: not fenced by its own promotion',
    timeline: 3,
    peers: { '10.0.0.12': `${SYSID} 4 0/6000060 ` },
    files: ['history-4'],
    started: true,
  },
  { name: 'a control file it cannot read (no system identifier) is a refusal, not a pass', controlText: "Database cluster state:               in production\nLatest checkpoint's TimeLineID:       3\n", peers: { '10.0.0.12': `${SYSID} 9 0/6000060 ` }, started: false, says: /did not say its system identifier/ },
  { name: 'a peer answer that is not numbers does not count as an answer', timeline: 3, peers: { '10.0.0.12': 'WARNING: something 3 0/0' }, started: false, says: /no peer answered in 30 s \( 10\.0\.0\.12\(unreadable answer\)\)/ },
]

for (const c of CASES)
  test(`start guard: ${c.name}`, () => {
    const r = runGuard(c)
    assert.is(r.code === 0, c.started, r.stderr)
    if (c.says) assert.match(r.stderr, c.says)
    if (c.fencedAfter) assert.match(r.fence ?? '', /by the start guard: 10\.0\.0\.12 runs timeline 4/)
    if (c.files?.includes('start-anyway')) assert.not.ok(r.onceLeft, 'used up')
    if (!c.files?.includes('fenced') && !c.fencedAfter) assert.is(r.fence, undefined, 'no fence written')
  })

test('start guard drop-in: after the network, the script with the cluster and every plain peer address (ranges and keywords are not asked)', () => {
  const text = startGuardDropinContent({ version: 15, cluster: 'main', dataDir: '/srv/pg', port: 5432, replicationUser: 'replicator', passfile: '/var/lib/postgresql/.pgpass', peers: ['10.77.0.11', '10.77.0.12', '10.77.0.0/24', 'samenet'] })
  assert.match(text, /^After=network-online\.target$/m)
  assert.match(text, /^ExecStartPre=\/usr\/local\/lib\/berth\/postgres-start-guard \/usr\/lib\/postgresql\/15\/bin \/srv\/pg 5432 replicator \/var\/lib\/postgresql\/\.pgpass 10\.77\.0\.11 10\.77\.0\.12$/m)
  assert.equal(guardPeers(['fd00::1', '10.0.0.0/8', 'all']), ['fd00::1'])
})

test.run()
