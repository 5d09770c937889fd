#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// The benchmark's workload as a berth playbook: the same 30 tasks per host as
// bench/ansible/workload.yml, task for task and in the same order. `npm run
// bench` runs it the way an operator would, in each of the three ways:
//
//   node --import tsx bench/berth-workload.ts -i INVENTORY -e bench_root=/srv/bench/berth [--check]
//   ./bench/berth-workload.ts -i INVENTORY …      (its first line, as playbooks/*.ts)
//   npx tsx bench/berth-workload.ts -i INVENTORY …
//
// and compares the files it leaves with the ones ansible-playbook leaves.
import { playbook } from '../src/index.ts'
import { benchTasks } from './workload.ts'

await playbook('berth bench workload', async (pb) => {
  await pb.play('berth bench workload', 'all', (host) => benchTasks(host.need<string>('bench_root')))
})
