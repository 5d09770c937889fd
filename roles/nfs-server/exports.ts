// The two backends' configuration, rendered from the same exports: the kernel
// server's exports(5) file (berth's own, under /etc/exports.d/) and
// nfs-ganesha's ganesha.conf (NFSv4 only, FSAL VFS, no grace period).
import type { NfsExport } from './options.ts'

export const KERNEL_EXPORTS_FILE = '/etc/exports.d/berth.exports'
export const GANESHA_CONF = '/etc/ganesha/ganesha.conf'

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
 * ganesha.conf for NFSv4 only: no NLM, no RQUOTA, no UDP, and Graceless (else a
 * 90 s grace period blocks every OPEN after a start). One EXPORT block per
 * export, numbered in order (a Path never changes under an Export_Id: a new path
 * is a new block).
 */
export function renderGaneshaConf(exports: readonly NfsExport[]): string {
  const blocks = exports.map((e, i) => {
    const anonUid = numberOption(e, 'anonuid')
    const anonGid = numberOption(e, 'anongid')
    const lines = [
      `EXPORT {`,
      `    Export_Id = ${i + 1};`,
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
      `        Access_Type = ${e.options.includes('ro') ? 'RO' : 'RW'};`,
      `    }`,
      `    FSAL {`,
      `        Name = VFS;`,
      `    }`,
      `}`,
    ]
    return lines.join('\n') + '\n'
  })
  return [
    HEADER('nfs-ganesha, NFSv4 only'),
    'NFS_CORE_PARAM {\n    Protocols = 4;\n    Enable_NLM = false;\n    Enable_RQUOTA = false;\n    Enable_UDP = false;\n}\n',
    'NFSv4 {\n    Graceless = true;\n}\n',
    ...blocks,
  ].join('\n')
}
