#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// The shared-storage stack (ha-shared-nfs.ts: NFS, database and Redis on the
// storage node, Harbor on every node of group harbor) with one virtual address
// in front (field runbook seed 003): keepalived on the Harbor nodes moves it
// when the node holding it dies or its Harbor turns unhealthy. Harbor's
// hostname is the address's name, so every node answers to what clients use.
//
//   ./playbooks/ha-keepalived-vip.ts -i inventory/lab.yml
//   ... --check --detect-drift     exits 2 when no node or more than one holds the address (outage, split brain)
//
// Variables: playbooks/tiers/keepalived.ts and shared-nfs.ts; the lab's are in
// inventory/group_vars/{keepalived,nfs,redis,harbor}.
import { playbook } from '../src/index.ts'
import { keepalivedTier, vipName } from './tiers/keepalived.ts'
import { sharedNfsStack } from './tiers/shared-nfs.ts'

await playbook('ha-keepalived-vip: Harbor nodes behind one virtual address', async (pb) => {
  // Every option of both is checked first: a refusal touches no host.
  const stack = sharedNfsStack(pb, { harbor: { hostname: vipName(pb) } })
  // Each node's health check asks its own Harbor, as that Harbor serves it (HTTP or HTTPS, its port).
  const vip = keepalivedTier(pb, { healthUrl: stack.healthUrl })
  await stack.run({ pattern: 'keepalived', tasks: vip.packages })
  await vip.play()
})
