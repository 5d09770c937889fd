// psql as the postgres account over the local socket (peer authentication),
// and SQL quoting. Statements that carry a password verifier go on standard
// input, never on the command line (the process list) or in the recorded plan.
import { sh, type ShellCommand } from '../../src/index.ts'
import { binDir } from './layout.ts'

export interface Server {
  version: number
  port: number
}

/** `'text'` with quotes doubled (standard_conforming_strings is on since 9.1). */
export const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`
/** `"name"` with quotes doubled. */
export const sqlIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`

const base = (s: Server, database: string): ShellCommand =>
  sh`cd / && runuser -u postgres -- ${binDir(s.version)}/psql -X -A -t -q -v ON_ERROR_STOP=1 -p ${s.port} -d ${database}`

/** Run statements given on the command line (nothing secret in them). */
export const psql = (s: Server, database: string, ...statements: string[]): ShellCommand => sh`${base(s, database)} ${statements.flatMap((st) => ['-c', st])}`

/** Run the SQL on standard input, in one transaction. */
export const psqlStdin = (s: Server, database: string): ShellCommand => sh`${base(s, database)} -1 -f -`

/** One ~/.pgpass line: libpq reads `host:port:database:user:password`, with `:` and `\` escaped in each field (`*` is a wildcard). */
export function pgpassLine(host: string, port: number | string, database: string, user: string, password: string): string {
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:')
  return [host, String(port), database, user, password].map(esc).join(':') + '\n'
}
