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
// Variables: see playbooks/tiers/shared-nfs.ts (storage.ts, redis.ts and
// harbor.ts, the tiers it runs); the lab's are in inventory/group_vars/{nfs,redis,harbor}.
import { playbook } from '../src/index.ts'
import { sharedNfsStack } from './tiers/shared-nfs.ts'

await playbook('ha-shared-nfs: Harbor nodes sharing one NFS store, its database and Redis', async (pb) => {
  // Every option is checked first: a refusal touches no host.
  const stack = sharedNfsStack(pb)
  await stack.run()
})
