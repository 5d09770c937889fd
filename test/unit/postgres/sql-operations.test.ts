// The PostgreSQL SQL resources as tables: the server's state in, operations
// out. A role's SQL (with its SCRAM verifier) goes on psql's standard input and
// is never in a record; a plan that needs the server's answers fails while it
// is not running (the runner turns that into "not seen yet" in --check).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { factValues, type Fact } from '../../../src/facts/fact.ts'
import { recordOf, withoutSensitiveContent } from '../../../src/operations/record.ts'
import type { ServerState } from '../../../roles/postgres/server-facts.ts'
import { database, loginRole, replicationSlot } from '../../../roles/postgres/sql-resources.ts'

const SERVER = { version: 15, port: 5432 }
const PSQL = 'cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -A -t -q -v ON_ERROR_STOP=1 -p 5432 -d postgres'
const server = (o: Partial<ServerState> = {}): ServerState => ({ running: true, inRecovery: false, roles: new Map(), databases: new Map(), slots: new Set(), ...o })
const planOf = (t: ReturnType<typeof database>, state: ServerState) => {
  const [probe] = t.resource.facts() as [Fact<unknown>]
  return t.resource.plan(factValues([[probe, state]]))
}

test('database: absent -> one psql -c per statement (CREATE DATABASE runs outside a transaction)', () => {
  const ops = planOf(database(SERVER, 'registry', 'harbor'), server()).operations ?? []
  assert.equal(ops.map((o) => recordOf(o)), [{ kind: 'run', command: `${PSQL} -c 'CREATE DATABASE "registry" OWNER "harbor" ENCODING '\\''UTF8'\\'' TEMPLATE template0'` }])
})

test('database: present with its owner -> no operation', () => {
  assert.equal(planOf(database(SERVER, 'registry', 'harbor'), server({ databases: new Map([['registry', { owner: 'harbor' }]]) })).operations, [])
})

test('slot: missing -> pg_create_physical_replication_slot; present -> none', () => {
  const ops = planOf(replicationSlot(SERVER, 'db2'), server()).operations ?? []
  assert.equal(ops.map((o) => o.kind === 'run' && o.command.text), [`${PSQL} -c 'SELECT pg_create_physical_replication_slot('\\''db2'\\'')'`])
  assert.equal(planOf(replicationSlot(SERVER, 'db2'), server({ slots: new Set(['db2']) })).operations, [])
})

test('role: the password on standard input to a derivation on the host, whose statement psql reads; never an argument', () => {
  const t = loginRole(SERVER, { name: 'replica', password: 'rep-s3cret-pw', replication: true })
  const [op, ...rest] = planOf(t, server()).operations ?? []
  assert.is(rest.length, 0)
  assert.ok(op?.kind === 'run')
  assert.is(op.stdin?.toString(), 'rep-s3cret-pw')
  assert.is(op.sensitive, true)
  assert.ok(op.command.text.startsWith(`sql=$(perl -e 'use strict;`), op.command.text)
  assert.ok(op.command.text.includes(`'CREATE ROLE "replica" LOGIN REPLICATION PASSWORD '\\'''`), op.command.text)
  // psql's command starts with `cd / &&`: the statement must reach psql, not cd.
  assert.ok(op.command.text.endsWith(`printf '%s\\n' "$sql" | { ${PSQL} -1 -f -\n}`), op.command.text)
  assert.not.match(op.command.text, /rep-s3cret-pw/)
  // Every output but the runbook sees the record without the input.
  const record = JSON.stringify(withoutSensitiveContent([recordOf(op)]))
  assert.not.match(record, /rep-s3cret-pw/)
  assert.match(record, /"stdinSensitive":true/)
})

test('a server that is not running: the plan fails naming the task and the reason (no silent empty plan)', () => {
  const down = server({ running: false, reason: 'connection refused' })
  for (const t of [database(SERVER, 'registry', 'harbor'), replicationSlot(SERVER, 'db2'), loginRole(SERVER, { name: 'harbor', password: 'x-long-pw', replication: false })])
    assert.throws(() => planOf(t, down), /: the server not running yet \(connection refused\), so what it holds cannot be read/)
})

test.run()
