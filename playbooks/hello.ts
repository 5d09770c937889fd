#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// The smallest berth playbook: converge a directory, a file and a setting on
// every host (localhost when no inventory is given), notify a handler when the
// file changes, and read a result back.
//
//   ./playbooks/hello.ts -i inventory/lab.yml   # on the lab (the first line runs node with tsx)
//   ./playbooks/hello.ts --diff                 # converge
//   ./playbooks/hello.ts --check --diff         # what would change
//   ./playbooks/hello.ts -e hello_dir=/tmp/elsewhere
//   node --import tsx playbooks/hello.ts …      # the same; npx tsx playbooks/hello.ts … too, half a second later
//
// A playbook is a zx script: zx's globals ($, fs, path, chalk, sleep, question,
// spinner, …) are there without an import.
import { playbook, handler, command, copy, file, lineInFile, sh } from '../src/index.ts'

await playbook('hello', async (pb) => {
  // Local work uses zx's $ (a global here), remote work uses host.$ and resources.
  const deployer = (await $`whoami`.quiet()).stdout.trim()
  const announce = handler('announce', command(sh`echo "motd changed on $(hostname)"`))

  const result = await pb.play('hello', 'all', (host) => {
    const dir = host.var('hello_dir', '/tmp/berth-hello')
    return [
      file({ path: dir, state: 'directory', mode: '0755' }),
      copy({ path: `${dir}/motd`, content: `Hello from berth on ${host.name}, deployed by ${deployer}\n`, mode: '0644' }).notify(announce),
      lineInFile({ path: `${dir}/settings.conf`, regexp: /^greeting=/, line: 'greeting=hello', create: true, mode: '0644' }),
      command(sh`cat ${dir}/motd`).named('read motd back').readOnly(),
    ]
  })

  // A task's result is there for the code that follows.
  for (const [host] of result.results) {
    const motd = result.output(host, 'read motd back')?.stdout
    if (motd) pb.log(`${chalk.bold(host)}: motd says: ${chalk.green(motd.trim())}`)
  }
})
