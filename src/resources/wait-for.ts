// `waitFor`: wait until a TCP port is open (or closed) or a command succeeds,
// as seen from the host. Read-only, so it runs in check mode too; it reports
// no change, or fails with a clear error after the timeout.
//
// How a port is probed, with nothing but POSIX sh (no bash /dev/tcp, no nc):
// - a loopback or wildcard address (127.x, ::1, localhost, 0.0.0.0, ::): the
//   host's listening sockets from iproute2's `ss -Htln`, parsed here;
// - any other address: a TCP connect from the host with perl's IO::Socket::INET,
//   which ships in perl-base, an Essential package on every Debian system.
// Each poll is one short exec (a few ms on an open connection), so the wait is
// timed and bounded here rather than in a remote loop.
import { BerthError } from '../errors.ts'
import { isListening, listenersFact, parseListeners } from '../facts/port.ts'
import type { Host } from '../host.ts'
import { ShellCommand, sh } from '../shell.ts'
import { showCommand } from './command.ts'
import { argumentError } from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'

export type WaitForTarget =
  | { port: number; host?: string; state?: 'started' | 'stopped' }
  | { command: ShellCommand | string }

export interface WaitForOptions {
  /** Give up after this long. Default 60000. */
  timeoutMs?: number
  /** Wait this long before the first probe. Default 0. */
  delayMs?: number
  /** Between probes. Default 1000. */
  intervalMs?: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const isLocalAddress = (address: string): boolean =>
  address === 'localhost' || address === '::1' || address === '0.0.0.0' || address === '::' || /^127\.\d+\.\d+\.\d+$/.test(address)

/** A TCP connect from the host, exit 0 when it succeeds; perl-base's IO::Socket::INET. */
export function connectProbe(address: string, port: number, timeoutSeconds: number): ShellCommand {
  const script = 'use IO::Socket::INET; exit(IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => $ARGV[2]) ? 0 : 1)'
  return sh`perl -e ${script} ${address} ${port} ${timeoutSeconds}`
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export function waitFor(target: WaitForTarget, options: WaitForOptions = {}): Task {
  const resource = 'waitFor'
  const timeoutMs = options.timeoutMs ?? 60000
  const delayMs = options.delayMs ?? 0
  const intervalMs = options.intervalMs ?? 1000
  for (const [name, value] of [['timeoutMs', timeoutMs], ['delayMs', delayMs], ['intervalMs', intervalMs]] as const)
    if (!Number.isFinite(value) || value < 0) throw argumentError(resource, name, 'must be a non-negative number of milliseconds')

  let title: string
  /** 'port 5432', for 'port 5432 open after 1.2 s'. */
  let subject: string
  /** 'open', 'closed', 'succeeded'. */
  let goal: string
  /** 'still not open', 'still failing'. */
  let failure: string
  let probe: (host: Host, remainingMs: number) => Promise<{ done: boolean; detail?: string }>
  if ('port' in target) {
    const { port } = target
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw argumentError(resource, 'port', `must be a TCP port number (got ${JSON.stringify(port)})`)
    const address = target.host ?? '127.0.0.1'
    if (typeof address !== 'string' || !/^[A-Za-z0-9.:_-]+$/.test(address)) throw argumentError(resource, 'host', 'must be an address or host name')
    const state = target.state ?? 'started'
    if (state !== 'started' && state !== 'stopped') throw argumentError(resource, 'state', "must be 'started' or 'stopped'")
    const wantOpen = state === 'started'
    title = `waitFor port ${port}${address === '127.0.0.1' ? '' : ` on ${address}`}${wantOpen ? '' : ' closed'}`
    subject = `port ${port}${address === '127.0.0.1' ? '' : ` on ${address}`}`
    goal = wantOpen ? 'open' : 'closed'
    failure = `still not ${goal}`
    probe = async (host) => {
      let open: boolean
      if (isLocalAddress(address)) {
        const r = await host.run(listenersFact.command).nothrow().quiet()
        const listeners = parseListeners(r)
        // A wildcard address asks whether anything listens on the port at all.
        open = address === '0.0.0.0' || address === '::' ? listeners.some((l) => l.port === port) : isListening(listeners, address, port)
      } else {
        const r = await host.run(connectProbe(address, port, Math.max(1, Math.ceil(Math.min(intervalMs, 5000) / 1000)))).nothrow().quiet()
        if (r.code !== 0 && r.code !== 1) throw new BerthError(`${host.name}: cannot probe ${address}:${port}: ${r.stderr.trim() || `exit ${r.code}`}`)
        open = r.code === 0
      }
      return { done: open === wantOpen }
    }
  } else if ('command' in target && (typeof target.command === 'string' || target.command instanceof ShellCommand)) {
    const cmd = typeof target.command === 'string' ? new ShellCommand(target.command) : target.command
    if (cmd.text.trim() === '') throw argumentError(resource, 'command', 'must not be empty')
    const shown = showCommand(cmd)
    title = `waitFor ${shown.split('\n')[0]}`
    subject = `command ${shown}`
    goal = 'succeeded'
    failure = 'still failing'
    probe = async (host, remainingMs) => {
      const r = await host.run(cmd).nothrow().quiet().timeout(Math.max(remainingMs, 1000))
      return { done: r.code === 0, detail: (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ') }
    }
  } else throw argumentError(resource, 'target', 'must be { port } or { command }')

  const res: Resource<Plan> = {
    title,
    waits: true,
    facts: () => [],
    plan: () => ({ changed: false }),
    check: async (host: Host): Promise<Plan> => {
      if (delayMs > 0) await sleep(delayMs)
      const started = performance.now()
      let last: { done: boolean; detail?: string } = { done: false }
      for (;;) {
        const elapsed = performance.now() - started
        last = await probe(host, timeoutMs - elapsed)
        const now = performance.now() - started
        if (last.done) return { changed: false, summary: `${subject} ${goal} after ${seconds(now)}` }
        if (now >= timeoutMs)
          throw new BerthError(`${host.name}: ${subject} ${failure} after ${seconds(timeoutMs)}`, {
            hint: last.detail ? `last output: ${last.detail}` : 'is the service running? its log (journalctl -u UNIT) says why',
          })
        await sleep(Math.min(intervalMs, timeoutMs - now))
      }
    },
    apply: async () => {},
  }
  return task(res)
}
