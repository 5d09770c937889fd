import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { groupFact, parseGroupProbe, parseUserProbe, userFact } from '../../../src/facts/users.ts'

test('user: captured getent passwd + id -gn + id -Gn', () => {
  const root = parseUserProbe({ code: 0, stdout: 'root:x:0:0:root:/root:/bin/bash\nroot\nroot\n', stderr: '' })
  assert.equal(root, { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash', group: 'root', groups: [] })
  // A typical Debian postgres account.
  const pg = parseUserProbe({
    code: 0,
    stdout: 'postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\npostgres\npostgres ssl-cert\n',
    stderr: '',
  })
  assert.equal(pg?.groups, ['ssl-cert'])
  assert.is(pg?.home, '/var/lib/postgresql')
})

test('user: getent exit 2 means absent; other failures throw', () => {
  assert.is(parseUserProbe({ code: 2, stdout: '', stderr: '' }), undefined)
  assert.throws(() => parseUserProbe({ code: 127, stdout: '', stderr: 'getent: not found' }), /not found/)
})

test('group: captured getent group lines', () => {
  assert.equal(parseGroupProbe({ code: 0, stdout: 'adm:x:4:\n', stderr: '' }), { name: 'adm', gid: 4, members: [] })
  assert.equal(parseGroupProbe({ code: 0, stdout: 'docker:x:998:ann,bob\n', stderr: '' }), { name: 'docker', gid: 998, members: ['ann', 'bob'] })
  assert.is(parseGroupProbe({ code: 2, stdout: '', stderr: '' }), undefined)
})

test('probes', () => {
  assert.is(userFact('postgres').command.text, 'getent passwd postgres && { id -gn postgres; id -Gn postgres; }')
  assert.is(groupFact('adm').command.text, 'getent group adm')
})

test.run()
