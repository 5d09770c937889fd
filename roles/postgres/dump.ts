// A pg_dump file made ready to restore as the database's owner: what
// `pg_restore --no-owner --no-acl --role=OWNER` does for the custom format,
// done for plain SQL dumps by leaving out the statements that name the dump's
// original owners or privileges, and running everything else as the owner.
//
// Only whole statements are left out, and only ones that start a line outside
// any string, quoted identifier, dollar-quoted body, comment or COPY data, so
// a function body or a row that happens to read "GRANT …;" is kept. Bytes are
// handled as latin1, which maps each byte to one character and back: a dump in
// any server encoding passes through unchanged.
import { BerthError } from '../../src/index.ts'
import { sqlIdent } from './psql.ts'

export type DumpFormat = 'plain' | 'custom'

// pg_dump writes each of these on one line of its own.
const DROPPED: readonly RegExp[] = [
  /^ALTER [A-Z ]+ .* OWNER TO .*;$/,
  /^(GRANT|REVOKE) .*;$/,
  /^ALTER DEFAULT PRIVILEGES .*;$/,
  /^SET SESSION AUTHORIZATION .*;$/,
]
const COPY_START = /^COPY .* FROM stdin;$/

type LexState = { kind: 'top' } | { kind: 'quote'; close: "'" | '"' } | { kind: 'dollar'; tag: string } | { kind: 'block-comment'; depth: number }

/** Scan one line from `state`; return the state at its end and whether a statement ended at the line's end. */
export function scanLine(line: string, state: LexState): { state: LexState; endsStatement: boolean; significant: boolean } {
  let s = state
  let lastSignificant = ''
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (s.kind === 'quote') {
      if (c === s.close) {
        if (line[i + 1] === s.close) i++
        else s = { kind: 'top' }
      }
      continue
    }
    if (s.kind === 'dollar') {
      if (line.startsWith(s.tag, i)) {
        i += s.tag.length - 1
        s = { kind: 'top' }
      }
      continue
    }
    if (s.kind === 'block-comment') {
      if (line.startsWith('*/', i)) {
        i++
        s = s.depth > 1 ? { kind: 'block-comment', depth: s.depth - 1 } : { kind: 'top' }
      } else if (line.startsWith('/*', i)) {
        i++
        s = { kind: 'block-comment', depth: s.depth + 1 }
      }
      continue
    }
    if (line.startsWith('--', i)) break
    if (line.startsWith('/*', i)) {
      s = { kind: 'block-comment', depth: 1 }
      i++
      continue
    }
    if (c === "'" || c === '"') {
      s = { kind: 'quote', close: c }
      lastSignificant = c
      continue
    }
    if (c === '$') {
      const tag = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/.exec(line.slice(i))
      if (tag) {
        s = { kind: 'dollar', tag: tag[0] }
        i += tag[0].length - 1
        lastSignificant = '$'
        continue
      }
    }
    if (c !== ' ' && c !== '\t' && c !== '\r') lastSignificant = c
  }
  // A line holding only comments (or the end of one) leaves the statement boundary as it was.
  const significant = lastSignificant !== '' || state.kind === 'quote' || state.kind === 'dollar' || s.kind === 'quote' || s.kind === 'dollar'
  return { state: s, endsStatement: s.kind === 'top' && lastSignificant === ';', significant }
}

export function ownershipFreeDump(dump: Buffer, owner: string, file: string): { content: Buffer; format: DumpFormat } {
  if (dump.subarray(0, 5).toString('latin1') === 'PGDMP') return { content: dump, format: 'custom' }
  const lines = dump.toString('latin1').split('\n')
  const out: string[] = [`SET ROLE ${sqlIdent(owner)};`]
  let state: LexState = { kind: 'top' }
  let atStatementStart = true
  let inCopy = false
  lines.forEach((line, i) => {
    if (inCopy) {
      out.push(line)
      if (line === '\\.') inCopy = false
      return
    }
    const startsStatement = atStatementStart && state.kind === 'top'
    if (startsStatement) {
      if (/^CREATE DATABASE /.test(line) || /^\\c(onnect)? /.test(line))
        throw new BerthError(`${file}:${i + 1}: the dump creates or switches databases (made with pg_dump -C or pg_dumpall)`, {
          hint: 'make one dump per database without -C: pg_dump -U postgres DBNAME > DBNAME.sql',
        })
      if (DROPPED.some((re) => re.test(line))) return
      if (COPY_START.test(line)) {
        out.push(line)
        inCopy = true
        return
      }
    }
    out.push(line)
    const scanned = scanLine(line, state)
    state = scanned.state
    if (!scanned.significant) return
    atStatementStart = scanned.endsStatement || (startsStatement && line.startsWith('\\'))
  })
  return { content: Buffer.from(out.join('\n'), 'latin1'), format: 'plain' }
}
