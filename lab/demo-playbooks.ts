// The playbooks the demo runs on the lab, in order, with their extra flags;
// `npm run runbooks` writes a runbook for each. It grows as roles arrive.
export const DEMO_PLAYBOOKS: readonly (readonly [string, ...string[]])[] = [
  ['playbooks/hello.ts'],
  // The headline: seed 000 whole with seed 003's virtual address in front (ha-shared-nfs.ts's stack, imported).
  // The lab inventory names its vault password file (lab-only, committed on purpose).
  // (playbooks/ha-pg-replicated.ts, seed 001, builds another Harbor on the same hosts: run it on its own.)
  ['playbooks/ha-keepalived-vip.ts'],
]
