// The smallest berth playbook: converge a directory, a file and a setting on
// every host (localhost when no inventory is given), notify a handler when the
// file changes, and read a result back.
//
//   npx tsx playbooks/hello.ts -i inventory/lab.yml    # on the lab
//   npx tsx playbooks/hello.ts --diff          # converge
//   npx tsx playbooks/hello.ts --check --diff  # what would change
//   npx tsx playbooks/hello.ts -e hello_dir=/tmp/elsewhere
import { $ } from 'zx'
import { playbook, handler, command, copy, file, lineInFile, sh } from '../src/index.ts'

await playbook('hello', async (pb) => {
  // A playbook is a zx script: local work uses zx's $, remote work uses host.$ and resources.
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
    if (motd) pb.log(`${host}: motd says: ${motd.trim()}`)
  }
})
