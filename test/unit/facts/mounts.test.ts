import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  escapeMountField,
  makeDevice,
  parseFstab,
  parseMounts,
  parsePathIdentity,
  unescapeMountField,
} from '../../../src/facts/mounts.ts'

// Captured from /proc/self/mounts on this machine (a bind mount onto a path with a tab in it).
const procMounts = `proc /proc proc rw,relatime 0 0
devtmpfs /dev devtmpfs rw,relatime,size=12358300k,nr_inodes=3089575,mode=755 0 0
/dev/vda / ext4 rw,relatime,discard,resv_strict,resuid=65534,resgid=65534 0 0
tmpfs /dev/shm tmpfs rw,relatime,size=24731708k 0 0
/dev/vda /tmp/cap/mnt\\011tab ext4 rw,relatime,discard,resv_strict,resuid=65534,resgid=65534 0 0
`

test('/proc/self/mounts: fields, octal escapes decoded', () => {
  const m = parseMounts(procMounts)
  assert.is(m.length, 5)
  assert.equal(m[2], { source: '/dev/vda', target: '/', fstype: 'ext4', options: 'rw,relatime,discard,resv_strict,resuid=65534,resgid=65534', dump: 0, passno: 0 })
  assert.is(m[4]?.target, '/tmp/cap/mnt\ttab')
})

test('fstab: comments and blank lines skipped, line numbers kept, missing fields defaulted', () => {
  const fstab = `# /etc/fstab: static file system information.
UUID=0a3407de-014b-458b-b5c1-848e92a327a3 /               ext4    errors=remount-ro 0       1

/srv/data\\040dir /mnt/with\\040space none bind 0 0
tmpfs /run/x tmpfs
\t# indented comment
`
  const e = parseFstab(fstab)
  assert.equal(
    e.map((x) => [x.line, x.source, x.target, x.fstype, x.options, x.passno]),
    [
      [1, 'UUID=0a3407de-014b-458b-b5c1-848e92a327a3', '/', 'ext4', 'errors=remount-ro', 1],
      [3, '/srv/data dir', '/mnt/with space', 'none', 'bind', 0],
      [4, 'tmpfs', '/run/x', 'tmpfs', 'defaults', 0],
    ],
  )
})

test('escape and unescape round-trip space, tab, newline, backslash', () => {
  const raw = 'a b\tc\nd\\e'
  assert.is(escapeMountField(raw), 'a\\040b\\011c\\012d\\134e')
  assert.is(unescapeMountField(escapeMountField(raw)), raw)
})

test('path identity: captured stat -L output; block device numbers as glibc makedev', () => {
  // stat -L -c '%d %i %t %T %F' /dev/vda /  (254:0 = /dev/vda, the root file system's st_dev 65024)
  const dev = parsePathIdentity({ code: 0, stdout: '6 102 fe 0 block special file\n', stderr: '' })
  const root = parsePathIdentity({ code: 0, stdout: '65024 2 0 0 directory\n', stderr: '' })
  assert.is(dev?.isBlockDevice, true)
  assert.is(dev?.deviceNumber, root?.device)
  assert.is(makeDevice(8, 1), 2049)
  assert.is(makeDevice(259, 300), 0x103 * 0x100 + (300 & 0xff) + 1 * 0x100000)
  assert.is(parsePathIdentity({ code: 0, stdout: '-\n', stderr: '' }), undefined)
})

test.run()
