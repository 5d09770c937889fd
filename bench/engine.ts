// npm run bench:engine — what the engine itself costs: N no-op resources on H
// hosts over real SSH (a private sshd on 127.0.0.1, one connection per "host").
// Prints milliseconds per resource per host, then the SSH connection's own
// figures (bench/ssh-figures.ts: connect, exec round trip, timeouts, 50 concurrent
// execs, failures to connect). Not a test: nothing here asserts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd } from '../test/support/sshd.ts'
import { Host } from '../src/host.ts'
import { SshConnection } from '../src/connection/ssh.ts'
import { resolveSshTarget } from '../src/connection/ssh-options.ts'
import { runPlay, RunLedger } from '../src/runner/play.ts'
import { copy, file, lineInFile } from '../src/resources/index.ts'
import type { Task } from '../src/resources/resource.ts'
import { figureTable, sshFigures } from './ssh-figures.ts'

const PER_KIND = Number(process.env.BENCH_PER_KIND ?? 10)
const HOST_COUNTS = (process.env.BENCH_HOSTS ?? '1,3,10').split(',').map(Number)
const REPEAT = 3

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const sshd = await startSshd()
const root = mkdtempSync(join(tmpdir(), 'berth-bench-'))
try {
  const rows: string[] = []
  for (const hostCount of HOST_COUNTS) {
    const hosts = Array.from({ length: hostCount }, (_, i) => {
      const name = `h${i}`
      const vars = { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: 'root', ansible_ssh_private_key_file: sshd.clientKey, berth_known_hosts_file: sshd.knownHosts }
      return new Host({ name, address: '127.0.0.1', vars, connection: new SshConnection(resolveSshTarget(name, vars, { sshConfigPath: '/dev/null' })) })
    })
    const build = (h: Host): Task[] => {
      const base = join(root, `${hostCount}`, h.name)
      return [
        file({ path: base, state: 'directory', mode: '0755' }),
        ...Array.from({ length: PER_KIND - 1 }, (_, i) => file({ path: join(base, `d${i}`), state: 'directory', mode: '0750' })),
        ...Array.from({ length: PER_KIND }, (_, i) => lineInFile({ path: join(base, 'lines.conf'), regexp: new RegExp(`^key${i}=`), line: `key${i}=value${i}`, create: true })),
        ...Array.from({ length: PER_KIND }, (_, i) => copy({ path: join(base, `f${i}.txt`), content: `file ${i}\n`, mode: '0644' })),
      ]
    }
    const tasks = new Map(hosts.map((h) => [h.name, build(h)]))
    const perHost = (tasks.get('h0') ?? []).length
    const once = async (check: boolean) => {
      const t = performance.now()
      const ledger = new RunLedger()
      await runPlay({ name: 'bench', pattern: 'all', hosts, tasks, options: {} }, { check, diff: false, forks: Math.max(5, hostCount), verbosity: 0, tags: { only: [], skip: [] } }, ledger, () => {})
      if (ledger.failed.size || ledger.unreachable.size) throw new Error('bench run failed')
      return performance.now() - t
    }
    const connectT = performance.now()
    await Promise.all(hosts.map((h) => h.connection.connect()))
    const connectMs = performance.now() - connectT
    const first = await once(false)
    const noop = median(await sequential(REPEAT, () => once(false)))
    const check = median(await sequential(REPEAT, () => once(true)))
    const per = (ms: number) => (ms / perHost / hostCount).toFixed(2)
    rows.push(`| ${hostCount} | ${perHost} | ${connectMs.toFixed(0)} | ${first.toFixed(0)} | ${noop.toFixed(0)} | ${per(noop)} | ${check.toFixed(0)} | ${per(check)} |`)
    await Promise.all(hosts.map((h) => h.connection.close()))
  }
  console.log(`\nberth engine, over ssh2 to a private sshd on 127.0.0.1 (node ${process.version}); medians of ${REPEAT}\n`)
  console.log('| hosts | resources/host | connect all (ms) | first run (ms) | no-op run (ms) | no-op ms/resource/host | --check (ms) | check ms/resource/host |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(r)
  const figures = await sshFigures(sshd)
  console.log(`\nthe ssh connection alone, same sshd; median, min and max of the runs\n`)
  for (const line of figureTable(figures)) console.log(line)
} finally {
  rmSync(root, { recursive: true, force: true })
  await sshd.stop()
}

async function sequential(n: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await fn())
  return out
}
