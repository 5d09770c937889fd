import { Host } from '../../src/host.ts'
import { SshConnection } from '../../src/connection/ssh.ts'
import { resolveSshTarget } from '../../src/connection/ssh-options.ts'
import { startSshd } from '../support/sshd.ts'
import { resourceSuite } from '../support/resource-suite.ts'

resourceSuite('resources over ssh to a private sshd on 127.0.0.1', async () => {
  const sshd = await startSshd()
  const vars = { ansible_host: '127.0.0.1', ansible_port: sshd.port, ansible_user: 'root', ansible_ssh_private_key_file: sshd.clientKey, berth_known_hosts_file: sshd.knownHosts }
  const connection = new SshConnection(resolveSshTarget('sshd', vars, { sshConfigPath: '/dev/null' }))
  return {
    host: new Host({ name: 'sshd', address: '127.0.0.1', vars, connection }),
    close: async () => {
      await connection.close()
      await sshd.stop()
    },
  }
}, ['ssh-tests'])
