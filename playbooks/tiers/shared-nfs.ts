// The shared-storage stack of field runbook seed 000, as one piece two
// playbooks run: ha-shared-nfs.ts alone, ha-keepalived-vip.ts with a virtual
// address in front. The storage node serves Harbor's data volume over NFS and
// runs its database and Redis in one compose project; every host of group
// harbor runs Harbor on that export, that database and that Redis. No
// top-level side effects.
//
// Variables: see storage.ts, redis.ts and harbor.ts (the tiers it runs).
import { ConfigError, type Host, type Playbook, type Task } from '../../src/index.ts'
import { harborTier, type HarborOverrides } from './harbor.ts'
import { backingDatabase, backingTier, redisEndpoints, redisPackages } from './redis.ts'
import { storagePackages, storageTier } from './storage.ts'

export interface SharedNfsOptions {
  harbor?: HarborOverrides
}

export interface SharedNfsStack {
  /** Run it; `morePackages`: another tier's packages for the one packages play (a tier the playbook runs after the stack). */
  run: (morePackages?: { pattern: string; tasks: (h: Host) => Task[] }) => Promise<void>
  /** A Harbor node's own health API. */
  healthUrl: (node: string) => string | undefined
}

/**
 * Check every option of the stack (the Harbor nodes' against each other
 * included) and return its run: call it before anything else runs, so that a
 * refusal touches no host.
 */
export function sharedNfsStack(pb: Playbook, o: SharedNfsOptions = {}): SharedNfsStack {
  const database = backingDatabase(pb)
  if (database.engine === 'mysql' && pb.hosts('harbor').length > 0)
    throw new ConfigError(
      "backing_database_engine is mysql: the seed's MySQL served Harbor 1.5 and older; Harbor 1.6 and later (and so harbor-node) store their data only in PostgreSQL",
      { hint: 'build the seed\'s storage node alone (its MySQL, Redis, NFS, and the dump imported once) with --limit nfs, or keep backing_database_engine=postgres for Harbor' },
    )
  const harbor = harborTier(pb, { database, redis: redisEndpoints(pb) }, o.harbor ?? {})
  const [nfsPackages, dockerForBacking] = [storagePackages(pb), redisPackages(pb)]
  return {
    healthUrl: harbor.healthUrl,
    run: async (more) => {
      // Every host's packages in one play, all hosts at once: installs dominate a first run.
      await pb.play('Packages', `nfs:redis:harbor${more ? `:${more.pattern}` : ''}`, (h) => [...nfsPackages(h), ...dockerForBacking(h), ...harbor.packages(h), ...(more ? more.tasks(h) : [])])
      await storageTier(pb)
      await backingTier(pb)
      await harbor.play()
    },
  }
}
