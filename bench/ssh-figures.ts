// The SSH connection's own figures for npm run bench:engine, against a private
// sshd on 127.0.0.1 (test/support/sshd.ts): what test/integration/ssh.test.ts
// once asserted as elapsed times, measured here instead. Nothing here asserts.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, processesRunning, startSshd, type TestSshd } from '../test/support/sshd.ts'
import { Host } from '../src/host.ts'
import { SshConnection } from '../src/connection/ssh.ts'
import { resolveSshTarget } from '../src/connection/ssh-options.ts'

export interface Figure {
  figure: string
  /** One value per repetition, in ms. */
  samples: number[]
  notes?: string
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A fresh connection to `server` (not yet connected); `vars` override the defaults. */
function connection(server: { port: number; clientKey: string; knownHosts: string }, vars: Record<string, unknown> = {}): SshConnection {
  return new SshConnection(
    resolveSshTarget(
      'bench',
      { ansible_host: '127.0.0.1', ansible_port: server.port, ansible_user: 'root', ansible_ssh_private_key_file: server.clientKey, berth_known_hosts_file: server.knownHosts, ...vars },
      { sshConfigPath: '/dev/null', env: {} },
    ),
  )
}


async function rejects(p: Promise<unknown>): Promise<void> {
  try {
    await p
  } catch {
    return
  }
  throw new Error('bench: expected a rejection')
}

async function times(n: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await fn())
  return out
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

export async function sshFigures(sshd: TestSshd): Promise<Figure[]> {
  const figures: Figure[] = []
  const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-ssh-'))
  try {
    // Connect: TCP, SSH handshake, host key check, public key auth.
    figures.push({
      figure: 'connect (TCP, handshake, host key check, key auth)',
      samples: await times(10, async () => {
        const c = connection(sshd)
        const ms = await timed(() => c.connect())
        await c.close()
        return ms
      }),
    })

    // Exec round trip of a no-op on an open connection.
    {
      const c = connection(sshd)
      await c.connect()
      await c.exec('true')
      figures.push({ figure: 'exec round trip (`true`) on an open connection', samples: await times(50, () => timed(() => c.exec('true'))) })
      await c.close()
    }

    // .timeout(300) on a shell whose child sleeps 30 s: when the call returns, when the child is gone.
    {
      const c = connection(sshd)
      const host = new Host({ name: 'bench', address: '127.0.0.1', connection: c })
      await c.connect()
      const returned: number[] = []
      const gone: number[] = []
      for (let i = 0; i < 5; i++) {
        const secs = `30.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`
        const t = performance.now()
        const r = await host.$`echo started; sleep ${secs}; echo never`.timeout(300).nothrow().quiet()
        returned.push(performance.now() - t)
        if (r.code !== null || r.stdout !== 'started\n') throw new Error(`bench: the timed-out command returned ${r.code}: ${r.stdout}`)
        while (processesRunning(`sleep ${secs}`) > 0) await pause(2)
        gone.push(performance.now() - t)
      }
      figures.push({ figure: '.timeout(300) of `sleep 30` in a shell: the call returns', samples: returned })
      figures.push({ figure: '.timeout(300) of `sleep 30` in a shell: the sleep is gone', samples: gone, notes: 'polled every 2 ms from the return' })
      await c.close()
    }

    // 50 concurrent execs on one connection (at most MaxSessions 10 channels at once).
    {
      let peak = 0
      let retried = 0
      const samples = await times(5, async () => {
        const c = connection(sshd)
        await c.connect()
        const ms = await timed(() => Promise.all(Array.from({ length: 50 }, (_, i) => c.exec(`echo ${i}; sleep 0.0$((${i} % 5))`))))
        peak = Math.max(peak, c.stats.maxConcurrentChannels)
        retried += c.stats.channelRetries
        await c.close()
        return ms
      })
      figures.push({ figure: '50 concurrent execs (`echo i; sleep 0.0{0..4}`) on one connection', samples, notes: `peak ${peak} channels; ${(retried / samples.length).toFixed(0)} refused opens retried per run` })
    }

    // A closed port: UnreachableError on the refusal.
    figures.push({
      figure: 'connect to a closed port: UnreachableError (refused)',
      samples: await times(10, async () => {
        const c = connection(sshd, { ansible_port: await freePort() })
        return timed(() => rejects(c.connect()))
      }),
    })

    // A port that accepts TCP and never speaks SSH, with berth_connect_timeout 0.5.
    {
      const held: Socket[] = []
      const silent = createServer((s) => {
        held.push(s)
        s.on('error', () => {})
        s.resume()
      })
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
      const addr = silent.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      figures.push({
        figure: 'connect to a port that never speaks SSH, berth_connect_timeout 0.5: UnreachableError',
        samples: await times(5, () => timed(() => rejects(connection(sshd, { ansible_port: port, berth_connect_timeout: 0.5 }).connect()))),
      })
      for (const s of held) s.destroy()
      await new Promise<void>((r) => silent.close(() => r()))
    }

    // The server goes away: the next exec tries one reconnect (refused); after that
    // the host is unreachable and execs fail at once with the same error.
    {
      const reconnect: number[] = []
      const unreachable: number[] = []
      for (let i = 0; i < 5; i++) {
        const server = await startSshd()
        // Key and known_hosts outside the server's dir, which stop() removes.
        const key = join(scratch, `key${i}`)
        const kh = join(scratch, `known_hosts${i}`)
        copyFileSync(server.clientKey, key)
        copyFileSync(server.knownHosts, kh)
        const c = connection({ port: server.port, clientKey: key, knownHosts: kh })
        await c.exec('true')
        server.dropConnections()
        await server.stop()
        reconnect.push(await timed(() => rejects(c.exec('true'))))
        for (let j = 0; j < 4; j++) unreachable.push(await timed(() => rejects(c.exec('true'))))
        await c.close()
      }
      figures.push({ figure: 'exec after the server went away: one reconnect, refused', samples: reconnect })
      figures.push({ figure: 'exec on a host already unreachable (no new attempt)', samples: unreachable })
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  return figures
}

/** The figures as a table in the style of the engine table. */
export function figureTable(figures: Figure[]): string[] {
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3))
  return [
    '| ssh figure | median (ms) | min (ms) | max (ms) | runs | notes |',
    '|---|---|---|---|---|---|',
    ...figures.map((f) => `| ${f.figure} | ${ms(median(f.samples))} | ${ms(Math.min(...f.samples))} | ${ms(Math.max(...f.samples))} | ${f.samples.length} | ${f.notes ?? ''} |`),
  ]
}
