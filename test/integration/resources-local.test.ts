import { Host } from '../../src/host.ts'
import { LocalConnection } from '../../src/connection/local.ts'
import { resourceSuite } from '../support/resource-suite.ts'

resourceSuite('resources over a local connection', async () => ({
  host: new Host({ name: 'local', address: 'localhost', connection: new LocalConnection() }),
  close: async () => {},
}))
