import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileContentFact, fileFact, normalizeMode, parseFileProbe } from '../../../src/facts/file.ts'

// Captured on Debian 12 (coreutils 9.1) with the probe of fileContentFact / fileFact.
const captured = {
  regular: 'stat\tregular file\t640\t0\t4\troot\tadm\t12\nsha256\t4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92  -\ncontent\taGVsbG8Kd29ybGQK\n',
  directory: 'stat\tdirectory\t2775\t0\t0\troot\troot\t4096\n',
  link: 'stat\tsymbolic link\t777\t0\t0\troot\troot\t10\ntarget\t/tmp/cap/f\n',
  fifo: 'stat\tfifo\t644\t0\t0\troot\troot\t0\n',
  emptyUnknownOwner: 'stat\tregular empty file\t644\t4242\t4343\tUNKNOWN\tUNKNOWN\t0\nsha256\te3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\ncontent\t\n',
  large: 'stat\tregular file\t644\t0\t0\troot\troot\t2097152\nsha256\t5647f05ec18958947d32874eeb788fa396a05d0bab7c1b71f112ceb7e9b31eee  -\n',
  absent: 'absent\n',
}
const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' })

test('regular file: mode padded to 4 digits, names, sha256 and decoded content', () => {
  const s = parseFileProbe(ok(captured.regular))
  assert.ok(s.exists)
  if (!s.exists) return
  assert.is(s.kind, 'file')
  assert.is(s.mode, '0640')
  assert.is(s.owner, 'root')
  assert.is(s.group, 'adm')
  assert.is(s.gid, 4)
  assert.is(s.size, 12)
  assert.is(s.sha256, '4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92')
  assert.is(s.content?.toString(), 'hello\nworld\n')
})

test('kinds: directory keeps its setgid digit, link has its target, fifo is other', () => {
  const dir = parseFileProbe(ok(captured.directory))
  assert.equal(dir.exists && [dir.kind, dir.mode, dir.content], ['directory', '2775', undefined])
  const link = parseFileProbe(ok(captured.link))
  assert.equal(link.exists && [link.kind, link.linkTarget], ['link', '/tmp/cap/f'])
  const fifo = parseFileProbe(ok(captured.fifo))
  assert.equal(fifo.exists && [fifo.kind, fifo.typeName], ['other', 'fifo'])
})

test('ids without names stand for themselves; an empty file has empty content', () => {
  const s = parseFileProbe(ok(captured.emptyUnknownOwner))
  assert.equal(s.exists && [s.owner, s.group, s.uid, s.kind, s.content?.length], ['4242', '4343', 4242, 'file', 0])
})

test('the probe sends content without a hash for small files: the sha256 is computed from the content', () => {
  const s = parseFileProbe({ code: 0, stdout: 'stat\tregular file\t640\t0\t4\troot\tadm\t12\ncontent\taGVsbG8Kd29ybGQK\n', stderr: '' })
  assert.equal(s.exists && [s.content?.toString(), s.sha256], ['hello\nworld\n', '4a1e67f2fe1d1cc7b31d0ca2ec441da4778203a036a77da10344c85e24ff0f92'])
})

test('a file over the content limit has a hash but no content', () => {
  const s = parseFileProbe(ok(captured.large))
  assert.equal(s.exists && [s.sha256?.slice(0, 8), s.content], ['5647f05e', undefined])
})

test('absent, and failures are errors rather than guesses', () => {
  assert.equal(parseFileProbe(ok(captured.absent)), { exists: false })
  assert.throws(() => parseFileProbe({ code: 1, stdout: '', stderr: "stat: cannot statx '/x': Permission denied" }), /Permission denied/)
  assert.throws(() => parseFileProbe(ok('garbage\n')), /unexpected stat output/)
})

test('normalizeMode', () => {
  const rows: [string, string | undefined][] = [['644', '0644'], ['0644', '0644'], ['2775', '2775'], ['0', '0000'], ['999', undefined], ['rwx', undefined], ['01777', undefined], ['', undefined]]
  for (const [input, out] of rows) assert.is(normalizeMode(input), out, input)
})

test('facts: distinct keys per variant, probes quote the path and only read', () => {
  const keys = new Set([fileFact('/a b').key, fileFact('/a b', { follow: true }).key, fileContentFact('/a b').key])
  assert.is(keys.size, 3)
  const probe = fileContentFact("/tmp/it's").command.text
  assert.ok(probe.includes(`'/tmp/it'\\''s'`))
  assert.not.match(probe, /\b(rm|mv|chmod|chown|touch|mkdir|tee)\b|>\s*[^&/]/)
  assert.match(fileFact('/x', { follow: true }).command.text, /stat -L/)
})

test.run()
