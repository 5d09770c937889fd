// Listening TCP sockets from iproute2's `ss -Htln` (no header, TCP, listening,
// numeric), for waiting on a local port without bash's /dev/tcp or nc.
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

export interface Listener {
  /** '0.0.0.0', '127.0.0.1', '::', '::1', '*' (every address, both families)… */
  address: string
  port: number
}

/** `127.0.0.1:5432`, `[::1]:6379`, `*:80`, `127.0.0.53%lo:53` -> address and port. */
export function parseSocketAddress(text: string): Listener | undefined {
  const colon = text.lastIndexOf(':')
  if (colon < 0) return undefined
  const port = Number(text.slice(colon + 1))
  if (!Number.isInteger(port)) return undefined
  let address = text.slice(0, colon)
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1)
  const scope = address.indexOf('%')
  if (scope >= 0) address = address.slice(0, scope)
  return { address, port }
}

export function parseListeners(output: ProbeOutput): Listener[] {
  if (output.code !== 0) throw new Error(output.stderr.trim() || `ss exited with code ${output.code}`)
  return output.stdout.split('\n').flatMap((line) => {
    // State Recv-Q Send-Q Local:Port Peer:Port [Process]
    const local = line.trim().split(/\s+/)[3]
    const parsed = local === undefined ? undefined : parseSocketAddress(local)
    return parsed ? [parsed] : []
  })
}

const isIPv6 = (address: string): boolean => address.includes(':')

function accepts(listener: Listener, address: string): boolean {
  const bound = listener.address.replace(/^::ffff:/, '')
  if (bound === '*' || bound === address) return true
  return isIPv6(address) ? bound === '::' : bound === '0.0.0.0'
}

/**
 * Whether a connection to host:port would find a listener: one bound to that
 * address or to the wildcard of its family (`*` is both families). `localhost`
 * is either loopback address.
 */
export function isListening(listeners: readonly Listener[], host: string, port: number): boolean {
  const candidates = host === 'localhost' ? ['127.0.0.1', '::1'] : [host.replace(/^::ffff:/, '')]
  return listeners.some((l) => l.port === port && candidates.some((address) => accepts(l, address)))
}

export const listenersFact: Fact<Listener[]> = fact('tcp-listeners', sh`ss -Htln`, parseListeners)
