// The lab's errors and the checks it makes before touching the machine. Every
// message is one paragraph that says what is wrong and what to do about it, so
// the CLI prints it without a stack trace.
import { BerthError } from '../src/errors.ts'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** Something the operator can act on: a missing package, a busy lab, a host that did not boot. */
export class LabError extends BerthError {}

/** A tool the lab runs, and the Debian package that ships it. */
export interface Tool {
  command: string
  debianPackage: string
}

/** Tools every lab verb needs; all but systemd-container are on every Debian system. */
export const HOST_TOOLS: readonly Tool[] = [
  { command: 'systemd-nspawn', debianPackage: 'systemd-container' },
  { command: 'ip', debianPackage: 'iproute2' },
  { command: 'ssh', debianPackage: 'openssh-client' },
  { command: 'ssh-keygen', debianPackage: 'openssh-client' },
  { command: 'flock', debianPackage: 'util-linux' },
  { command: 'nsenter', debianPackage: 'util-linux' },
]

/** Tools the image build needs on top of HOST_TOOLS. */
export const IMAGE_TOOLS: readonly Tool[] = [
  { command: 'debootstrap', debianPackage: 'debootstrap' },
  { command: 'dpkg-deb', debianPackage: 'dpkg' },
  { command: 'gzip', debianPackage: 'gzip' },
]

/** The directories a root shell searches, whatever PATH the caller (sudo, npm) left us. */
const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

export function findTool(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH_PATH]
  for (const dir of dirs) {
    const candidate = join(dir, command)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here; keep looking
    }
  }
  return undefined
}

/** Linux and root: the lab makes a bridge, veths and containers. */
export function requireLinuxRoot(): void {
  if (process.platform !== 'linux')
    throw new LabError(`the berth lab runs only on Linux (systemd-nspawn containers on a bridge); this machine is ${process.platform}`, {
      hint: 'run it on a Debian 12 machine or VM',
    })
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    throw new LabError('the berth lab must run as root: it creates a network bridge, veth pairs and systemd-nspawn containers', {
      hint: 'run it with sudo, e.g. `sudo npm run lab -- up`',
    })
}

/** Fail with one message naming every missing tool and the Debian packages to install. */
export function requireTools(tools: readonly Tool[]): void {
  const missing = tools.filter((t) => findTool(t.command) === undefined)
  if (missing.length === 0) return
  const packages = [...new Set(missing.map((t) => t.debianPackage))]
  throw new LabError(`the lab needs ${missing.map((t) => `\`${t.command}\``).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`, {
    hint: `apt-get install ${packages.join(' ')}`,
  })
}
