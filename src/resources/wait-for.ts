// `waitFor`: wait until a TCP port is open (or closed) or a command succeeds,
// as seen from the host. Read-only, so it runs in check mode too; it reports
// no change, or fails with a clear error after the timeout.
//
// How a port is probed, with nothing but POSIX sh (no bash /dev/tcp, no nc):
// - a loopback or wildcard address (127.x, ::1, localhost, 0.0.0.0, ::): the
//   host's listening sockets from iproute2's `ss -Htln`, read by awk;
// - any other address: a TCP connect from the host with perl's IO::Socket::INET,
//   which ships in perl-base, an Essential package on every Debian system.
// The wait is a wait operation: the executor polls the probe (one short exec
// each), and a runbook prints it as a bounded loop.
import { ShellCommand, sh } from '../shell.ts'
import { showCommand } from './command.ts'
import { argumentError } from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'
import { waitOp } from '../operations/operation.ts'

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

export const isLocalAddress = (address: string): boolean =>
  address === 'localhost' || address === '::1' || address === '0.0.0.0' || address === '::' || /^127\.\d+\.\d+\.\d+$/.test(address)

/** A TCP connect from the host, exit 0 when it succeeds; perl-base's IO::Socket::INET. */
export function connectProbe(address: string, port: number, timeoutSeconds: number): ShellCommand {
  const script = 'use IO::Socket::INET; exit(IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => $ARGV[2]) ? 0 : 1)'
  return sh`perl -e ${script} ${address} ${port} ${timeoutSeconds}`
}

/**
 * Exit 0 while something listens on `port` that a connection to `address`
 * would reach (a listener on that address or on its family's wildcard;
 * `localhost` is either loopback; a wildcard address asks for any listener),
 * from iproute2's `ss -Htln` read by awk: a shell probe a runbook can loop on.
 */
export function listeningProbe(address: string, port: number): ShellCommand {
  const wants = address === 'localhost' ? '127.0.0.1 ::1' : address.replace(/^::ffff:/, '')
  const program = [
    '{ l = $4; c = 0',
    '  for (i = length(l); i > 0; i--) if (substr(l, i, 1) == ":") { c = i; break }',
    '  if (c == 0 || substr(l, c + 1) != port) next',
    '  a = substr(l, 1, c - 1)',
    '  if (substr(a, 1, 1) == "[") a = substr(a, 2, length(a) - 2)',
    '  s = index(a, "%"); if (s > 0) a = substr(a, 1, s - 1)',
    '  sub(/^::ffff:/, "", a)',
    '  n = split(wants, w, " ")',
    '  for (k = 1; k <= n; k++) {',
    '    x = w[k]',
    '    if (a == "*" || a == x || x == "0.0.0.0" || x == "::") found = 1',
    '    else if (index(x, ":") > 0 && a == "::") found = 1',
    '    else if (index(x, ":") == 0 && a == "0.0.0.0") found = 1',
    '  } }',
    'END { exit found ? 0 : 1 }',
  ].join('\n')
  return sh`ss -Htln | awk -v port=${port} -v wants=${wants} ${program}`
}

export function waitFor(target: WaitForTarget, options: WaitForOptions = {}): Task {
  const resource = 'waitFor'
  const timeoutMs = options.timeoutMs ?? 60000
  const delayMs = options.delayMs ?? 0
  const intervalMs = options.intervalMs ?? 1000
  for (const [name, value] of [['timeoutMs', timeoutMs], ['delayMs', delayMs], ['intervalMs', intervalMs]] as const)
    if (!Number.isFinite(value) || value < 0) throw argumentError(resource, name, 'must be a non-negative number of milliseconds')

  let title: string
  /** 'port 5432 open', 'command pg_isready -q succeeds'. */
  let what: string
  let probe: ShellCommand
  if ('port' in target) {
    const { port } = target
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw argumentError(resource, 'port', `must be a TCP port number (got ${JSON.stringify(port)})`)
    const address = target.host ?? '127.0.0.1'
    if (typeof address !== 'string' || !/^[A-Za-z0-9.:_-]+$/.test(address)) throw argumentError(resource, 'host', 'must be an address or host name')
    const state = target.state ?? 'started'
    if (state !== 'started' && state !== 'stopped') throw argumentError(resource, 'state', "must be 'started' or 'stopped'")
    const wantOpen = state === 'started'
    const where = `port ${port}${address === '127.0.0.1' ? '' : ` on ${address}`}`
    title = `waitFor ${where}${wantOpen ? '' : ' closed'}`
    what = `${where} ${wantOpen ? 'open' : 'closed'}`
    const open = isLocalAddress(address) ? listeningProbe(address, port) : connectProbe(address, port, Math.max(1, Math.ceil(Math.min(intervalMs, 5000) / 1000)))
    probe = wantOpen ? open : sh`! ${open}`
  } else if ('command' in target && (typeof target.command === 'string' || target.command instanceof ShellCommand)) {
    probe = typeof target.command === 'string' ? new ShellCommand(target.command) : target.command
    if (probe.text.trim() === '') throw argumentError(resource, 'command', 'must not be empty')
    const shown = showCommand(probe)
    title = `waitFor ${shown.split('\n')[0]}`
    what = `command ${shown} succeeds`
  } else throw argumentError(resource, 'target', 'must be { port } or { command }')

  const operations = [waitOp(probe, what, { intervalMs, timeoutMs, delayMs })]
  const res: Resource<Plan> = {
    title,
    waits: true,
    facts: () => [],
    // A query: it runs in --check too and reports ok; the executor does the waiting, and the runbook shows it.
    plan: () => ({ changed: true, summary: `wait until ${what}`, operations }),
  }
  return task(res, { readOnly: true })
}
