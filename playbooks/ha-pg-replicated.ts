#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Harbor on a PostgreSQL primary/standby pair (field runbook seed 001), whole:
// the database pair, Redis on the storage node, and Harbor on every host of
// group harbor pointing at the primary and at Redis, all nodes sharing one
// data volume (in the lab, a directory the lab binds into both; with NFS, see
// ha-shared-nfs).
//
//   ./playbooks/ha-pg-replicated.ts -i inventory/lab.yml    (or: node --import tsx playbooks/ha-pg-replicated.ts …)
//   ... --check --diff              what would change
//   ... --limit postgres            the database pair only
//   ... -e pg.replaceDataDir=true   let a standby replace a data directory that holds other data (kept beside)
//   ... -e harbor_allow_disagreement=true   go on although the Harbor nodes' options differ (see the warning it prints)
//
// Variables: see playbooks/tiers/database.ts, redis.ts and harbor.ts (the tiers this playbook runs).
import { playbook } from '../src/index.ts'
import { databasePackages, databasePrimary, databaseTier } from './tiers/database.ts'
import { harborTier } from './tiers/harbor.ts'
import { redisEndpoints, redisPackages, redisTier } from './tiers/redis.ts'

await playbook('ha-pg-replicated: Harbor on a PostgreSQL primary and standby, with Redis', async (pb) => {
  // Harbor's options are checked first: a refusal touches no host.
  const harbor = harborTier(pb, { database: databasePrimary(pb), redis: redisEndpoints(pb) })
  // Every host's packages in one play, all hosts at once: installs dominate a first run.
  const [pgPackages, dockerForRedis] = [databasePackages(pb), redisPackages(pb)]
  await pb.play('Packages', 'postgres:redis:harbor', (h) => [...pgPackages(h), ...dockerForRedis(h), ...harbor.packages(h)])
  await databaseTier(pb, { packages: false })
  await redisTier(pb)
  await harbor.play()
})
