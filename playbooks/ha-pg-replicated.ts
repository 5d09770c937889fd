#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Harbor on a PostgreSQL primary/standby pair (field runbook seed 001): the
// database tier. The primary is the one host of group pg_primary; every host
// of pg_standby streams from it through its own replication slot.
//
//   ./playbooks/ha-pg-replicated.ts -i inventory/lab.yml    (or: node --import tsx playbooks/ha-pg-replicated.ts …)
//   ... --check --diff              what would change
//   ... -e pg.replaceDataDir=true   let a standby replace a data directory that holds other data (kept beside)
//
// Variables: see playbooks/tiers/database.ts (the tier this playbook runs).
import { playbook } from '../src/index.ts'
import { databaseTier } from './tiers/database.ts'

await playbook('ha-pg-replicated: Harbor database on a PostgreSQL primary and standby', async (pb) => {
  await databaseTier(pb)
})
