#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// Several Harbor nodes sharing one storage node (field runbook seed 000): the
// storage node serves Harbor's data volume over NFS and runs its database and
// Redis in one compose project; every host of group harbor runs Harbor on that
// export, that database and that Redis.
//
//   ./playbooks/ha-shared-nfs.ts -i inventory/lab.yml      (npm run demo runs it on the lab)
//   ... --check --diff                                    what would change
//   ... -e backing_database_engine=mysql --limit nfs      the seed's literal MySQL 5.7, its dump imported
//                                                         once (Harbor 2.x itself needs PostgreSQL)
//   ... -e harbor_allow_disagreement=true                 go on although the Harbor nodes' options differ
//
// Variables: see playbooks/tiers/storage.ts, redis.ts and harbor.ts (the tiers
// this playbook runs); the lab's are in inventory/group_vars/{nfs,redis,harbor}.
import { ConfigError, playbook } from '../src/index.ts'
import { harborTier } from './tiers/harbor.ts'
import { backingDatabase, backingTier, redisEndpoints, redisPackages } from './tiers/redis.ts'
import { storagePackages, storageTier } from './tiers/storage.ts'

await playbook('ha-shared-nfs: Harbor nodes sharing one NFS store, its database and Redis', async (pb) => {
  const database = backingDatabase(pb)
  if (database.engine === 'mysql' && pb.hosts('harbor').length > 0)
    throw new ConfigError(
      "backing_database_engine is mysql: the seed's MySQL served Harbor 1.5 and older; Harbor 1.6 and later (and so harbor-node) store their data only in PostgreSQL",
      { hint: 'build the seed\'s storage node alone (its MySQL, Redis, NFS, and the dump imported once) with --limit nfs, or keep backing_database_engine=postgres for Harbor' },
    )
  // Harbor's options are checked first: a refusal touches no host.
  const harbor = harborTier(pb, { database, redis: redisEndpoints(pb) })
  // Every host's packages in one play, all hosts at once: installs dominate a first run.
  const [nfsPackages, dockerForBacking] = [storagePackages(pb), redisPackages(pb)]
  await pb.play('Packages', 'nfs:redis:harbor', (h) => [...nfsPackages(h), ...dockerForBacking(h), ...harbor.packages(h)])
  await storageTier(pb)
  await backingTier(pb)
  await harbor.play()
})
