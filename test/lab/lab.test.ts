// The lab, end to end: real Debian hosts under systemd-nspawn, reached by the
// engine's own SSH connection with strict host key checking. Needs root on
// Linux (CI is); elsewhere every test is skipped with the reason printed.
//
// The test file owns lab `berth` (inventory/lab.yml) while it runs: it holds
// the lab lock, starts from `down`, and always ends with `down`.
import { suite, test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { Inventory } from '../../src/inventory/inventory.ts'
import { Redactor } from '../../src/secrets.ts'
import { DEFAULT_INVENTORY, Lab } from '../../lab/lab.ts'
import { labSkipReason, setUpReported, tearDownLab } from '../support/lab-owner.ts'
import { allProcesses, procEntry, run, stillListed, type ProcEntry } from '../../lab/proc.ts'
import { readImage, recipeHash, RECIPE } from '../../lab/image.ts'
import { readRecord } from '../../lab/state.ts'
import { loadLabConfig, parseSubnet } from '../../lab/lab-config.ts'
import { debianMirror, parseDeb822Sources, parseOneLineSources } from '../../lab/mirror.ts'
import { LabError, requireTools } from '../../lab/errors.ts'
import { findHostProcesses, hostsFile, networkFile, nspawnArgs } from '../../lab/hosts.ts'
import { hostVeth } from '../../lab/network.ts'
import { ensureInotifyInstances, inotifyInstancesFor } from '../../lab/kernel-limits.ts'

// Pure parts of the lab: these run everywhere, root or not.
const unit = suite('lab: inventory, apt sources, recipe')

unit('inventory/lab.yml: hosts, groups, addresses and lab settings', () => {
  const c = loadLabConfig(DEFAULT_INVENTORY)
  assert.is(c.stateDir, `/var/lib/berth-lab/${c.name}`)
  assert.ok(c.keyFile.startsWith(c.stateDir + '/') && c.knownHostsFile.startsWith(c.stateDir + '/'))
  for (const g of ['pg_primary', 'pg_standby', 'nfs', 'harbor', 'keepalived', 'redis'])
    assert.ok(c.hosts.some((h) => h.groups.includes(g)), `some host is in group ${g}`)
  assert.is(new Set(c.hosts.map((h) => h.address)).size, c.hosts.length, 'addresses are unique')
  const nfs = c.hosts.find((h) => h.groups.includes('nfs'))
  assert.ok(nfs && nfs.dataDirs.length > 0, 'the NFS host has a real data dir for its export')
  // The keepalived address is no host's, and every host resolves its name (the lab plays DNS).
  assert.equal(c.reserved, ['10.77.0.100'])
  assert.equal(c.reservedNames, [{ address: '10.77.0.100', name: 'harbor-vip.berth.test' }])
  assert.match(hostsFile(c), /^10\.77\.0\.100\tharbor-vip\.berth\.test$/m)
})

const unitDir = mkdtempSync(join(tmpdir(), 'berth-lab-unit-'))
unit.after(() => rmSync(unitDir, { recursive: true, force: true }))
let yamlCount = 0
function labYaml(body: string): string {
  const f = join(unitDir, `lab-${yamlCount++}.yml`)
  writeFileSync(f, body)
  return f
}
const header = (subnet = '10.79.0.0/24'): string =>
  `all:\n  vars:\n    lab: { name: unit, bridge: unit0, subnet: ${subnet} }\n    ansible_ssh_private_key_file: /var/lib/berth-lab/unit/id_ed25519\n    berth_known_hosts_file: /var/lib/berth-lab/unit/known_hosts\n`

unit('lab config errors name the problem', () => {
  const bad = (body: string, re: RegExp): void => {
    try {
      loadLabConfig(labYaml(body))
    } catch (e) {
      assert.ok(e instanceof LabError)
      assert.match(e.message, re)
      return
    }
    assert.unreachable(`expected ${re}`)
  }
  bad(header() + '  hosts:\n    a1: { ansible_host: 10.80.0.5 }\n', /not a host address in lab.subnet/)
  bad(header() + '  hosts:\n    a1: { ansible_host: 10.79.0.5 }\n    a2: { ansible_host: 10.79.0.5 }\n', /already used by host a1/)
  bad(header() + '  hosts:\n    a1: { ansible_host: 10.79.0.1 }\n', /already used by the lab bridge/)
  bad(header() + '  hosts:\n    a1: {}\n', /has no ansible_host/)
  bad(header().replace('subnet: 10.79.0.0/24 }', 'subnet: 10.79.0.0/24, reserved: [{ address: 10.79.0.9, name: "Not A Name" }] }') + '  hosts:\n    a1: { ansible_host: 10.79.0.5 }\n', /lab\.reserved name "Not A Name" is not a host name/)
  bad(header('8.8.0.0/24') + '  hosts:\n    a1: { ansible_host: 8.8.0.5 }\n', /not a private range/)
  bad(header().replace('/var/lib/berth-lab/unit/known_hosts', '/root/.ssh/known_hosts') + '  hosts:\n    a1: { ansible_host: 10.79.0.5 }\n', /state directory/)
  assert.throws(() => parseSubnet('10.0.0.1/24', 'x'), /host bits/)
  const ok = loadLabConfig(labYaml(header() + '  children:\n    g:\n      vars: { lab_data_dirs: [/srv/x] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n'))
  assert.equal(ok.hosts[0]?.groups, ['g'])
  assert.equal(ok.hosts[0]?.dataDirs, ['/srv/x'])
  assert.match(networkFile(ok, ok.hosts[0] as never), /Address=10\.79\.0\.5\/24/)
  // A group's shared directory: one machine directory bound into each of its hosts.
  const shared = loadLabConfig(labYaml(header() + '  children:\n    g:\n      vars: { lab_shared_dirs: [/data/] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n        a2: { ansible_host: 10.79.0.6 }\n    h:\n      hosts:\n        a3: { ansible_host: 10.79.0.7 }\n'))
  assert.equal(shared.hosts.map((h) => h.sharedDirs), [[{ path: '/data', group: 'g', share: 'g/data' }], [{ path: '/data', group: 'g', share: 'g/data' }], []])
  const [a1, a2] = shared.hosts.map((h) => nspawnArgs(shared, h, { root: '/img' } as never).filter((a) => a.startsWith('--bind=')))
  assert.equal(a1, a2)
  assert.equal(a1, ['--bind=/var/lib/berth-lab/unit/hosts/.shared/g/data:/data'])
  // A named share: one machine directory at different paths in different groups (an NFS export and its clients' mount point).
  const named = loadLabConfig(
    labYaml(header() + '  children:\n    s:\n      vars: { lab_shared_dirs: [{ path: /srv/nfs/harbor, share: harbor-data }] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n    c:\n      vars: { lab_shared_dirs: [{ path: /data, share: harbor-data }] }\n      hosts:\n        a2: { ansible_host: 10.79.0.6 }\n'),
  )
  assert.equal(named.hosts.map((h) => nspawnArgs(named, h, { root: '/img' } as never).filter((a) => a.startsWith('--bind='))), [
    ['--bind=/var/lib/berth-lab/unit/hosts/.shared/harbor-data:/srv/nfs/harbor'],
    ['--bind=/var/lib/berth-lab/unit/hosts/.shared/harbor-data:/data'],
  ])
  bad(header() + '  children:\n    g:\n      vars: { lab_shared_dirs: [{ path: /data, share: ../x }] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n', /lab_shared_dirs must be a list of absolute paths/)
  bad(
    header() + '  children:\n    g:\n      vars: { lab_shared_dirs: [/data] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n    h:\n      vars: { lab_shared_dirs: [/data] }\n      hosts:\n        a1:\n',
    /\/data is shared by both group g and group h/,
  )
  // A group's extra system calls reach only its hosts' nspawn filter.
  const calls = loadLabConfig(labYaml(header() + '  children:\n    g:\n      vars: { lab_system_calls: [open_by_handle_at] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n    h:\n      hosts:\n        a2: { ansible_host: 10.79.0.6 }\n'))
  assert.equal(calls.hosts.map((h) => nspawnArgs(calls, h, { root: '/img' } as never).find((a) => a.startsWith('--system-call-filter='))), ['--system-call-filter=@keyring bpf open_by_handle_at', '--system-call-filter=@keyring bpf'])
  bad(header() + '  children:\n    g:\n      vars: { lab_system_calls: [\'rm -rf\'] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n', /lab_system_calls must be a list of system call names/)
  bad(header() + '  children:\n    g:\n      vars: { lab_shared_dirs: [/data], lab_data_dirs: [/data] }\n      hosts:\n        a1: { ansible_host: 10.79.0.5 }\n', /both lab_data_dirs and lab_shared_dirs/)
})

unit('apt sources: one-line and deb822, mirror for bookworm main', () => {
  const one = parseOneLineSources('# c\ndeb [arch=amd64] http://mirror.example/debian bookworm main contrib\ndeb-src http://x bookworm main\n', 'a.list')
  assert.equal(one, [{ uri: 'http://mirror.example/debian', suite: 'bookworm', components: ['main', 'contrib'], file: 'a.list' }])
  const d = parseDeb822Sources(
    'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://off\nSuites: bookworm\nComponents: main\n',
    'd.sources',
  )
  assert.is(d.length, 3)
  const m = debianMirror('bookworm', d)
  assert.is(m.primary, 'http://mirror.example/debian')
  assert.equal(m.lines, [
    'deb http://mirror.example/debian bookworm main',
    'deb http://mirror.example/debian bookworm-updates main',
    'deb http://mirror.example/debian-security bookworm-security main',
  ])
  assert.throws(() => debianMirror('bookworm', one.filter(() => false)), /no 'bookworm main' source/)
})

unit('image recipe: hashed, and a changed recipe gets another cache entry', () => {
  assert.match(recipeHash(), /^[0-9a-f]{16}$/)
  assert.is(recipeHash(), recipeHash(RECIPE))
  assert.is.not(recipeHash({ ...RECIPE, repoPackages: [...RECIPE.repoPackages, 'extra'] }), recipeHash())
})

unit('inotify instances: raised to what the hosts need, never lowered', () => {
  const f = join(unitDir, 'max_user_instances')
  writeFileSync(f, '128\n')
  const said = ensureInotifyInstances(25, f)
  assert.is(readFileSync(f, 'utf8').trim(), String(inotifyInstancesFor(25)))
  assert.match(said ?? '', /from 128 to \d+ for 25 hosts/)
  assert.ok(inotifyInstancesFor(25) > 25 * 7, 'room for what a booted host holds (6 to 7, measured)')
  writeFileSync(f, '100000\n')
  assert.is(ensureInotifyInstances(25, f), undefined)
  assert.is(readFileSync(f, 'utf8').trim(), '100000', 'a higher limit stays')
})

unit('missing tools are named with their Debian packages', () => {
  try {
    requireTools([{ command: 'berth-no-such-tool', debianPackage: 'berth-pkg' }])
    assert.unreachable('should throw')
  } catch (e) {
    assert.ok(e instanceof LabError)
    assert.match(e.describe(), /apt-get install berth-pkg/)
  }
})

unit.run()

const skipReason = labSkipReason

const NAMES = [
  'up: 3 hosts start and answer',
  'ssh: each host answers over the engine with strict host key checking and reports its own hostname',
  'ssh: a host key that does not match is refused',
  'systemd: systemctl is-system-running answers',
  'isolation: a file written in /etc on one host is absent on the others and on the machine',
  'apt: apt-get install -y jq works inside a host with no network',
  'network: hosts reach each other by address and by name',
  'kill: a host is unreachable within seconds, start brings it back with its data',
  'partition: cuts a host off in both directions, heal reconnects it',
  'down: no nspawn process (not even a zombie), no bridge, no veth, no mount, no cgroup left',
]

if (skipReason) {
  console.log(`\n  lab tests skipped: ${skipReason}. The lab needs root on Linux (systemd-nspawn hosts on a bridge).\n`)
  for (const name of NAMES) test.skip(name)
} else {
  let lab: Lab
  let inventory: Inventory
  const connections: SshConnection[] = []
  let hosts: string[] = []
  let upDone = false
  const scratch = mkdtempSync(join(tmpdir(), 'berth-lab-test-'))

  const vars = (name: string, over: Record<string, unknown> = {}): Record<string, unknown> => {
    const h = inventory.host(name)
    if (!h) throw new Error(`inventory has no host ${name}`)
    return { ...h.vars, ...over }
  }
  /** A fresh engine Host (its own ssh2 connection) for a lab host. */
  const engineHost = (name: string, over: Record<string, unknown> = {}): Host => {
    const v = vars(name, over)
    const connection = new SshConnection(resolveSshTarget(name, v))
    connections.push(connection)
    return new Host({ name, address: String(v.ansible_host), vars: v, connection })
  }
  const addressOf = (name: string): string => String(vars(name).ansible_host)
  const needUp = (): void => {
    if (!upDone) throw new Error('the lab did not come up (see the first test); skipping')
  }
  /** Can the machine open a new SSH session to the host? (short connect timeout) */
  const reachable = async (name: string): Promise<boolean> => {
    const h = engineHost(name, { berth_connect_timeout: 2 })
    try {
      await h.$`true`.timeout(5000)
      return true
    } catch {
      return false
    } finally {
      await h.connection.close()
    }
  }
  /** Exit code of a TCP connect from one lab host to another's SSH port. */
  const probe = async (from: Host, address: string): Promise<number | null> => (await from.$`timeout 3 bash -c ${`</dev/tcp/${address}/22`}`.nothrow()).code

  test.before(() =>
    setUpReported(async () => {
      inventory = await Inventory.load([DEFAULT_INVENTORY], { redactor: new Redactor() })
      lab = Lab.open(DEFAULT_INVENTORY, (line) => console.log(`    ${line}`))
      hosts = lab.config.hosts.slice(0, 3).map((h) => h.name)
      await lab.hold('test/lab/lab.test.ts')
    }),
  )

  test.after(() => tearDownLab(lab, connections, () => rmSync(scratch, { recursive: true, force: true })))

  test(NAMES[0] as string, async () => {
    await lab.down() // start from fresh hosts, whatever an earlier run left
    const r = await lab.up(hosts)
    console.log(`    lab up ${hosts.join(' ')}: ${r.seconds} s (image ${r.image.hash})`)
    assert.equal(r.started, hosts)
    const status = await lab.status()
    for (const name of hosts) assert.equal(status.find((s) => s.name === name)?.state, 'running', `${name} is running`)
    // Idempotent: a second up starts nothing and leaves the running hosts alone.
    const before = status.filter((s) => hosts.includes(s.name)).map((s) => s.nspawnPid)
    const again = await lab.up(hosts)
    assert.equal(again.started, [])
    assert.equal(again.alreadyRunning, hosts)
    assert.equal(
      (await lab.status()).filter((s) => hosts.includes(s.name)).map((s) => s.nspawnPid),
      before,
    )
    upDone = true
  })

  test(NAMES[1] as string, async () => {
    needUp()
    for (const name of hosts) {
      const v = vars(name)
      assert.is(v.berth_known_hosts_file, lab.config.knownHostsFile)
      const h = engineHost(name)
      const r = await h.$`hostname`
      assert.is(r.stdout.trim(), name)
      assert.is((await h.$`cat /etc/hostname`).stdout.trim(), name)
    }
    // Fresh host keys per host: no two hosts share one.
    const keys = readFileSync(lab.config.knownHostsFile, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(' ')[2])
    assert.is(new Set(keys).size, keys.length)
    assert.ok(keys.length >= hosts.length)
  })

  test(NAMES[2] as string, async () => {
    needUp()
    const [a, b] = hosts as [string, string]
    // A known_hosts that gives host a's address host b's key: strict checking must refuse.
    const lines = readFileSync(lab.config.knownHostsFile, 'utf8').split('\n')
    const bKey = lines.find((l) => l.startsWith(`${addressOf(b)},`))?.split(' ').slice(1).join(' ')
    assert.ok(bKey, `known_hosts has ${b}`)
    const wrong = join(scratch, 'known_hosts.wrong')
    writeFileSync(wrong, `${addressOf(a)} ${bKey}\n`)
    const h = engineHost(a, { berth_known_hosts_file: wrong })
    let refused: unknown
    try {
      await h.$`true`
    } catch (e) {
      refused = e
    }
    assert.ok(refused instanceof Error, 'connection with a mismatched host key was refused')
    assert.match((refused as Error).message, /key|known/i)
  })

  test(NAMES[3] as string, async () => {
    needUp()
    for (const name of hosts) {
      const r = await engineHost(name).$`systemctl is-system-running`.nothrow()
      const state = r.stdout.trim()
      if (state !== 'running') {
        const failed = await engineHost(name).$`systemctl --failed --no-legend`.nothrow()
        assert.unreachable(`${name}: systemctl is-system-running says '${state}'; failed units: ${failed.stdout}`)
      }
    }
  })

  test(NAMES[4] as string, async () => {
    needUp()
    const [a, ...others] = hosts as [string, ...string[]]
    const file = `/etc/berth-lab-probe-${process.pid}-${Date.now()}`
    await engineHost(a).writeFile(file, 'written on one host only\n')
    assert.is((await engineHost(a).$`cat ${file}`).stdout, 'written on one host only\n')
    for (const o of others) assert.is.not((await engineHost(o).$`test -e ${file}`.nothrow()).code, 0, `${file} absent on ${o}`)
    assert.not.ok(existsSync(file), `${file} absent on the machine`)
    const rec = readRecord(lab.config.stateDir)
    const image = rec ? readImage(rec.imageDir) : undefined
    assert.ok(image, 'the lab records its image')
    assert.not.ok(existsSync(join(image.root, file)), 'absent from the shared image')
    assert.ok(existsSync(join(lab.hostDir(a), 'upper', file)), `kept in ${a}'s own overlay layer`)
  })

  test(NAMES[5] as string, async () => {
    needUp()
    const h = engineHost(hosts[1] as string)
    const routes = (await h.$`ip route show`).stdout
    assert.not.match(routes, /^default/m, 'no default route: the host has no way out')
    const sources = (await h.$`grep -rhs '^deb' /etc/apt/sources.list /etc/apt/sources.list.d/ || true`).stdout.trim()
    assert.is(sources, 'deb [trusted=yes] file:/var/lib/berth-repo ./', 'apt sees only the local repository')
    assert.is.not((await h.$`command -v jq`.nothrow()).code, 0, 'jq is not installed yet')
    await h.$`apt-get update -qq`
    await h.$`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq`
    const r = await h.$`echo '{"berth":"lab"}' | jq -r .berth`
    assert.is(r.stdout.trim(), 'lab')
  })

  test(NAMES[6] as string, async () => {
    needUp()
    for (const from of hosts) {
      const h = engineHost(from)
      for (const to of hosts) {
        if (to === from) continue
        assert.is(await probe(h, addressOf(to)), 0, `${from} reaches ${to} at ${addressOf(to)}`)
        assert.is(await probe(h, to), 0, `${from} reaches ${to} by name`)
      }
    }
  })

  test(NAMES[7] as string, async () => {
    needUp()
    const victim = hosts[2] as string
    const token = `survives a power cut ${Date.now()}`
    await engineHost(victim).$`echo ${token} > /root/berth-data && sync`
    const t0 = performance.now()
    assert.is(await lab.kill(victim), 'killed')
    let down = false
    const deadline = t0 + 15_000 // a bound against a hang, not an assertion on time
    while (performance.now() < deadline) {
      if (!(await reachable(victim))) {
        down = true
        break
      }
    }
    console.log(`    kill ${victim}: unreachable after ${Math.round(performance.now() - t0)} ms`)
    assert.ok(down, `${victim} is unreachable after kill`)
    assert.is((await lab.status()).find((s) => s.name === victim)?.state, 'stopped')
    const r = await lab.start(victim)
    assert.equal(r.started, [victim])
    assert.is((await engineHost(victim).$`cat /root/berth-data`).stdout.trim(), token)
  })

  test(NAMES[8] as string, async () => {
    needUp()
    const [cut, peer] = hosts as [string, string]
    const peerHost = engineHost(peer)
    assert.is(await probe(peerHost, addressOf(cut)), 0, 'reachable before the partition')
    await lab.partition(cut)
    try {
      assert.is((await lab.status()).find((s) => s.name === cut)?.state, 'partitioned')
      assert.not.ok(await reachable(cut), 'the machine cannot reach the partitioned host')
      assert.is.not(await probe(peerHost, addressOf(cut)), 0, `${peer} cannot reach ${cut}`)
      // The other direction, seen from inside the cut-off host (through its namespaces, not the network).
      const inside = await lab.exec(cut, ['timeout', '3', 'bash', '-c', `</dev/tcp/${addressOf(peer)}/22`])
      assert.is.not(inside.code, 0, `${cut} cannot reach ${peer}`)
      const addr = await lab.exec(cut, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'host0'])
      assert.match(addr.stdout, addressOf(cut), 'the host keeps its address while cut off')
    } finally {
      await lab.heal(cut)
    }
    assert.is((await lab.status()).find((s) => s.name === cut)?.state, 'running')
    assert.ok(await reachable(cut), 'the machine reaches it again')
    assert.is(await probe(peerHost, addressOf(cut)), 0, `${peer} reaches ${cut} again`)
    const back = await lab.exec(cut, ['timeout', '3', 'bash', '-c', `</dev/tcp/${addressOf(peer)}/22`])
    assert.is(back.code, 0, `${cut} reaches ${peer} again`)
  })

  test(NAMES[9] as string, async () => {
    await Promise.allSettled(connections.map((c) => c.close()))
    // What down must make disappear: each host's nspawn and its PID 1 (with
    // start times, so a reused pid does not count), and the machine's end of its veth.
    const before: ProcEntry[] = []
    const veths: string[] = []
    for (const p of findHostProcesses(lab.config).values()) {
      for (const pid of [p.nspawnPid, ...(p.initPid === undefined ? [] : [p.initPid])]) {
        const e = procEntry(pid)
        if (e) before.push(e)
      }
      const veth = p.initPid === undefined ? undefined : await hostVeth(p.initPid, lab.config.interface)
      if (veth) veths.push(veth.ifname)
    }
    assert.ok(before.some((e) => e.comm === 'systemd-nspawn'), 'the hosts run before down')
    assert.is(veths.length, hosts.length, 'each host has a veth before down')
    const r = await lab.down()
    console.log(`    lab down: ${r.seconds} s`)
    // Right after down: gone from /proc, not merely dead (a zombie is still listed, and pgrep shows it).
    const listed = before.flatMap((e) => stillListed(e) ?? [])
    assert.equal(listed.map((e) => `${e.pid} ${e.comm} ${e.state}`), [], 'no nspawn or host init of this lab in /proc, zombie or not')
    assert.equal(r.unreaped, [])
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout
    for (const v of veths) assert.not.match(links, new RegExp(`^\\d+: ${v}[@:]`, 'm'), `veth ${v} is gone`)
    assert.not.match(links, new RegExp(`^\\d+: ${lab.config.bridge}[@:]`, 'm'), `bridge ${lab.config.bridge} is gone`)
    const left = await lab.leftovers()
    assert.equal(left.processes, [], 'no host process')
    assert.is(left.bridge, false, `no bridge ${lab.config.bridge}`)
    assert.equal(left.bridgePorts, [], 'no veth')
    assert.equal(left.mounts, [], 'no mount under the state dir')
    assert.equal(left.cgroups, [], 'no lab cgroup')
    assert.is(left.hostDirs, false, 'no host disks')
    const nspawns = allProcesses().filter((p) => (p.argv[0] ?? '').endsWith('systemd-nspawn') && p.argv.some((a) => a.includes(lab.config.stateDir)))
    assert.equal(nspawns, [], 'no systemd-nspawn of this lab')
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    assert.not.ok(mounts.includes(lab.config.stateDir), 'no mount of the lab in the machine mount table')
    // down is idempotent
    const again = await lab.down()
    assert.equal(again.killedHosts, [])
  })
}

test.run()
