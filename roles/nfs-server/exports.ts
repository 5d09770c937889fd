// The two backends' configuration, rendered from the same exports: the kernel
// server's exports(5) file (berth's own, under /etc/exports.d/) and
// nfs-ganesha's ganesha.conf (NFSv4 only, FSAL VFS, no grace period) with its
// EXPORT blocks in a file of their own: a change there needs only a reload
// (SIGHUP re-reads EXPORT blocks), a change of the rest needs a restart.
import { createHash } from 'node:crypto'
import type { NfsExport } from './options.ts'

export const KERNEL_EXPORTS_FILE = '/etc/exports.d/berth.exports'
export const GANESHA_CONF = '/etc/ganesha/ganesha.conf'
export const GANESHA_EXPORTS = '/etc/ganesha/berth-exports.conf'

/**
 * ganesha's Export_Id, from the path: a Path cannot change under an Export_Id
 * on reload, so ids must not follow the list's order (removing the first export
 * would move every other path to another id). 1-65535; 0 is the pseudo root.
 */
export const exportId = (path: string): number => (parseInt(createHash('sha256').update(path).digest('hex').slice(0, 8), 16) % 65535) + 1

const HEADER = (what: string): string =>
  `# Managed by berth (nfs-server): ${what}. A hand edit is drift:\n# \`--check --detect-drift\` reports it and the next run puts it back.\n`

/** exports(5): one line per export, the path quoted, each client with the export's options. */
export function renderKernelExports(exports: readonly NfsExport[]): string {
  return HEADER('the kernel server\'s exports') + exports.map((e) => `"${e.path}" ${e.clients.map((c) => `${c}(${e.options.join(',')})`).join(' ')}\n`).join('')
}

/** The value of `anonuid=` or `anongid=`, when given. */
const numberOption = (e: NfsExport, key: string): string | undefined => e.options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1)

/** ganesha's Squash for the exports(5) squash options (root_squash is the default in both). */
function squashOf(e: NfsExport): string {
  if (e.options.includes('all_squash')) return 'All_Squash'
  if (e.options.includes('no_root_squash')) return 'No_Root_Squash'
  return 'Root_Squash'
}

/**
 * ganesha's EXPORT blocks, one per export, its id from its path. Access only for
 * the listed clients, NFSv4 over TCP, AUTH_SYS.
 */
export function renderGaneshaExports(exports: readonly NfsExport[]): string {
  const blocks = exports.map((e) => {
    const anonUid = numberOption(e, 'anonuid')
    const anonGid = numberOption(e, 'anongid')
    const lines = [
      `EXPORT {`,
      `    Export_Id = ${exportId(e.path)};`,
      `    Path = "${e.path}";`,
      `    Pseudo = "${e.pseudo ?? e.path}";`,
      `    Protocols = 4;`,
      `    Transports = TCP;`,
      `    SecType = sys;`,
      // Who may mount: only the listed clients get access; everyone else none.
      `    Access_Type = None;`,
      `    Squash = ${squashOf(e)};`,
      ...(anonUid !== undefined ? [`    Anonymous_Uid = ${anonUid};`] : []),
      ...(anonGid !== undefined ? [`    Anonymous_Gid = ${anonGid};`] : []),
      // exports(5)'s default is secure (clients from ports below 1024 only); ganesha's is the
      // opposite. Both backends do what the options say: insecure lets in libnfs run as a user.
      `    PrivilegedPort = ${e.options.includes('insecure') ? 'false' : 'true'};`,
      `    CLIENT {`,
      `        Clients = ${e.clients.join(', ')};`,
      // Without it ganesha logs that the CLIENT block names a protocol (3) the server does not run.
      `        Protocols = 4;`,
      `        Access_Type = ${e.options.includes('ro') ? 'RO' : 'RW'};`,
      `    }`,
      `    FSAL {`,
      `        Name = VFS;`,
      `    }`,
      `}`,
    ]
    return lines.join('\n') + '\n'
  })
  return [HEADER('nfs-ganesha\'s exports, included by ganesha.conf'), ...blocks].join('\n')
}

/**
 * ganesha.conf: NFSv4 only (no NLM, no RQUOTA, no UDP), Graceless (else a 90 s
 * grace period blocks every OPEN after a start), and the exports file included.
 */
export function renderGaneshaCore(): string {
  return [
    HEADER('nfs-ganesha, NFSv4 only'),
    'NFS_CORE_PARAM {\n    Protocols = 4;\n    Enable_NLM = false;\n    Enable_RQUOTA = false;\n    Enable_UDP = false;\n}\n',
    'NFSv4 {\n    Graceless = true;\n}\n',
    `%include "${GANESHA_EXPORTS}"\n`,
  ].join('\n')
}
