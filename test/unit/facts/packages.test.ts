import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { packageBaseName, packagesFact, parseDpkgQuery } from '../../../src/facts/packages.ts'

// Captured: dpkg-query -W -f '${Package}\t${Status}\t${Version}\n' -- bash coreutils libc6 nosuchpkg
const captured = {
  code: 1,
  stdout: 'bash\tinstall ok installed\t5.2.15-2+b8\ncoreutils\tinstall ok installed\t9.1-1\nlibc6\tinstall ok installed\t2.36-9+deb12u14\n',
  stderr: 'dpkg-query: no packages found matching nosuchpkg\n',
}

test('installed packages; unknown names are simply absent (exit 1 is expected)', () => {
  const m = parseDpkgQuery(captured)
  assert.equal(m.get('bash'), { status: 'install ok installed', version: '5.2.15-2+b8', installed: true })
  assert.is(m.get('nosuchpkg'), undefined)
  assert.is(m.size, 3)
})

test('removed with config files left, half-installed: not installed; held: installed', () => {
  const m = parseDpkgQuery({
    code: 0,
    stdout: 'jq\tdeinstall ok config-files\t1.6-2.1\nnginx\tinstall ok half-installed\t1.22.1-9\npostgresql-15\thold ok installed\t15.8-0+deb12u1\n',
    stderr: '',
  })
  assert.equal([m.get('jq')?.installed, m.get('nginx')?.installed, m.get('postgresql-15')?.installed], [false, false, true])
})

test('multi-arch: installed in any architecture counts', () => {
  const m = parseDpkgQuery({ code: 0, stdout: 'libc6\tinstall ok installed\t2.36\nlibc6\tdeinstall ok config-files\t2.36\n', stderr: '' })
  assert.is(m.get('libc6')?.installed, true)
  assert.is(packageBaseName('libc6:i386'), 'libc6')
})

test('dpkg-query missing or broken: an error', () => {
  assert.throws(() => parseDpkgQuery({ code: 127, stdout: '', stderr: 'sh: 1: dpkg-query: not found' }), /not found/)
})

test('one fact per package set, order-independent; format quoted as one word', () => {
  assert.is(packagesFact(['b', 'a']).key, packagesFact(['a', 'b', 'a']).key)
  assert.is(packagesFact(['jq']).command.text, "dpkg-query -W -f '${Package}\t${Status}\t${Version}\n' -- jq")
})

test.run()
