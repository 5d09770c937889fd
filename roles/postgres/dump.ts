// A pg_dump file made ready to restore as the database's owner: what
// `pg_restore --no-owner --no-acl --role=OWNER` does for the custom format,
// done for plain SQL dumps by dropping the statements that name the dump's
// original owners (pg_dump writes each on a line of its own) and running
// everything else as the owner. COPY data is passed through untouched.
import { BerthError } from '../../src/errors.ts'
import { sqlIdent } from './psql.ts'

export type DumpFormat = 'plain' | 'custom'

const OWNER_LINE = /^ALTER [A-Z ]+ .* OWNER TO .*;$/
const ACL_LINE = /^(GRANT|REVOKE) .*;$/
const SESSION_LINE = /^SET SESSION AUTHORIZATION .*;$/
const COPY_START = /^COPY .* FROM stdin;$/

export function ownershipFreeDump(dump: Buffer, owner: string, file: string): { content: Buffer; format: DumpFormat } {
  if (dump.subarray(0, 5).toString('latin1') === 'PGDMP') return { content: dump, format: 'custom' }
  const lines = dump.toString('utf8').split('\n')
  const out: string[] = [`SET ROLE ${sqlIdent(owner)};`]
  let inCopy = false
  lines.forEach((line, i) => {
    if (inCopy) {
      out.push(line)
      if (line === '\\.') inCopy = false
      return
    }
    if (COPY_START.test(line)) inCopy = true
    else if (/^CREATE DATABASE /.test(line) || /^\\c(onnect)? /.test(line))
      throw new BerthError(`${file}:${i + 1}: the dump creates or switches databases (made with pg_dump -C or pg_dumpall)`, {
        hint: 'make one dump per database without -C: pg_dump -U postgres DBNAME > DBNAME.sql',
      })
    else if (OWNER_LINE.test(line) || ACL_LINE.test(line) || SESSION_LINE.test(line)) return
    out.push(line)
  })
  return { content: Buffer.from(out.join('\n'), 'utf8'), format: 'plain' }
}
