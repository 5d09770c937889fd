// The lab inventory's hosts as the engine sees them, for lab tests that talk to
// hosts beside the playbook they run: each host's variables (vault values
// decrypted), and a Host over SSH for each one connected, its connection kept
// so that the teardown closes it.
import { Host, type Vars } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { Inventory } from '../../src/inventory/inventory.ts'
import { Redactor } from '../../src/secrets.ts'
import { DEFAULT_INVENTORY } from '../../lab/lab.ts'

export class LabHosts {
  readonly connections: SshConnection[] = []
  readonly #hosts = new Map<string, Host>()

  private constructor(private readonly inventory: Inventory) {}

  static async load(): Promise<LabHosts> {
    return new LabHosts(await Inventory.load([DEFAULT_INVENTORY], { redactor: new Redactor() }))
  }

  vars(name: string): Vars {
    const v = this.inventory.host(name)?.vars
    if (!v) throw new Error(`inventory has no host ${name}`)
    return v
  }

  /** Open an SSH connection to each host (strict host key checking, as playbooks do). */
  connect(...names: string[]): void {
    for (const name of names) {
      const vars = this.vars(name)
      const connection = new SshConnection(resolveSshTarget(name, vars))
      this.connections.push(connection)
      this.#hosts.set(name, new Host({ name, address: String(vars.ansible_host), vars, connection }))
    }
  }

  host(name: string): Host {
    const h = this.#hosts.get(name)
    if (!h) throw new Error(`${name} is not connected`)
    return h
  }
}
