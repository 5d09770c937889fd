import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  appendKnownHost,
  checkHostKey,
  entriesFor,
  fingerprintSha256,
  hashHostName,
  hostKeyAlgorithmsFor,
  hostPatternMatches,
  keyTypeOfBlob,
  knownHostName,
  loadKnownHosts,
  parseKnownHosts,
} from '../../src/connection/known-hosts.ts'

const dir = mkdtempSync(join(tmpdir(), 'berth-kh-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh public key: [type, base64, blob]. */
function newKey(type: 'ed25519' | 'rsa' | 'ecdsa', name: string): { type: string; b64: string; blob: Buffer } {
  const f = join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f], { stdio: 'ignore' })
  const [t, b64] = readFileSync(f + '.pub', 'utf8').trim().split(/\s+/)
  return { type: t ?? '', b64: b64 ?? '', blob: Buffer.from(b64 ?? '', 'base64') }
}

const a = newKey('ed25519', 'a')
const b = newKey('ed25519', 'b')
const r = newKey('rsa', 'r')

test('knownHostName: bare for port 22, [host]:port otherwise, lower case', () => {
  assert.is(knownHostName('Web1.Example.org', 22), 'web1.example.org')
  assert.is(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222')
})

test('parse: comments, blank lines, markers, comma lists, line numbers, bad lines skipped', () => {
  const text = [
    '# a comment',
    '',
    `web1,web1.example.org,10.0.0.1 ${a.type} ${a.b64} root@web1`,
    `   [127.0.0.1]:2222 ${r.type} ${r.b64}`,
    `@revoked * ${b.type} ${b.b64}`,
    `@cert-authority *.example.org ${b.type} ${b.b64}`,
    'garbage line',
    `web2 ssh-rsa ${a.b64}`, // type field disagrees with the blob: skipped
    `@bogus web3 ${a.type} ${a.b64}`,
  ].join('\n')
  const e = parseKnownHosts(text, 'kh')
  assert.equal(
    e.map((x) => [x.line, x.marker ?? '', x.hosts, x.keyType]),
    [
      [3, '', 'web1,web1.example.org,10.0.0.1', 'ssh-ed25519'],
      [4, '', '[127.0.0.1]:2222', 'ssh-rsa'],
      [5, 'revoked', '*', 'ssh-ed25519'],
      [6, 'cert-authority', '*.example.org', 'ssh-ed25519'],
    ],
  )
  assert.ok(e[0]?.key.equals(a.blob))
  assert.is(e[0]?.file, 'kh')
})

test('host patterns: lists, wildcards, negation, [host]:port, case', () => {
  assert.ok(hostPatternMatches('web1,web2', 'web2'))
  assert.ok(hostPatternMatches('*.example.org', 'db.example.org'))
  assert.ok(hostPatternMatches('web?', 'web7'))
  assert.not.ok(hostPatternMatches('web?', 'web10'))
  assert.not.ok(hostPatternMatches('*.example.org,!db.example.org', 'db.example.org'))
  assert.ok(hostPatternMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222'))
  assert.not.ok(hostPatternMatches('127.0.0.1', '[127.0.0.1]:2222'), 'a port-22 entry does not cover another port')
  assert.not.ok(hostPatternMatches('[127.0.0.1]:2222', '127.0.0.1'))
  assert.ok(hostPatternMatches('WEB1', 'web1'))
})

test('hashed entries: our HMAC matches, and so do lines hashed by ssh-keygen -H', () => {
  const salt = Buffer.alloc(20, 7)
  const h = hashHostName('[127.0.0.1]:2222', salt)
  assert.match(h, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/)
  assert.ok(hostPatternMatches(h, '[127.0.0.1]:2222'))
  assert.not.ok(hostPatternMatches(h, '127.0.0.1'))

  const f = join(dir, 'hashed_known_hosts')
  writeFileSync(f, `# keep me\nweb1.example.org ${a.type} ${a.b64}\n[10.1.2.3]:2200 ${r.type} ${r.b64}\n`)
  execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'ignore' })
  const text = readFileSync(f, 'utf8')
  assert.not.match(text, /web1\.example\.org/, 'ssh-keygen hashed the names')
  const entries = loadKnownHosts([f])
  assert.is(entries.length, 2)
  assert.ok(entries.every((e) => e.hosts.startsWith('|1|')))
  assert.is(checkHostKey(entries, 'web1.example.org', a.blob).status, 'match')
  assert.is(checkHostKey(entries, knownHostName('10.1.2.3', 2200), r.blob).status, 'match')
  assert.is(checkHostKey(entries, knownHostName('10.1.2.3', 22), r.blob).status, 'unknown')
  assert.is(checkHostKey(entries, 'web1.example.org', b.blob).status, 'mismatch')
})

test('checkHostKey: match, mismatch names the recorded line, unknown, revoked wins', () => {
  const entries = parseKnownHosts(
    [`# header`, `[h]:2222 ${a.type} ${a.b64}`, `other ${b.type} ${b.b64}`, `@revoked [h]:2222 ${r.type} ${r.b64}`].join('\n'),
    '/x/known_hosts',
  )
  const m = checkHostKey(entries, '[h]:2222', a.blob)
  assert.is(m.status, 'match')
  const mm = checkHostKey(entries, '[h]:2222', b.blob)
  assert.is(mm.status, 'mismatch')
  if (mm.status === 'mismatch') assert.equal(mm.recorded.map((e) => `${e.file}:${e.line}`), ['/x/known_hosts:2'])
  assert.is(checkHostKey(entries, '[nowhere]:2222', a.blob).status, 'unknown')
  const rev = checkHostKey(entries, '[h]:2222', r.blob)
  assert.is(rev.status, 'revoked')
  if (rev.status === 'revoked') assert.is(rev.entry.line, 4)
  // @cert-authority lines are not host keys on record.
  const ca = parseKnownHosts(`@cert-authority * ${a.type} ${a.b64}`, 'f')
  assert.is(checkHostKey(ca, 'any', a.blob).status, 'unknown')
  assert.equal(entriesFor(ca, 'any'), [])
})

test('host key algorithms follow the recorded types; rsa allows the sha2 signatures', () => {
  const entries = parseKnownHosts(`h ${r.type} ${r.b64}\nh ${a.type} ${a.b64}`, 'f')
  assert.equal(hostKeyAlgorithmsFor(entries), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
  assert.equal(hostKeyAlgorithmsFor(entries.slice(0, 1)), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
  assert.equal(hostKeyAlgorithmsFor([]), [])
})

test('fingerprint is what ssh-keygen -l prints', () => {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'a.pub')]).toString()
  assert.ok(out.includes(fingerprintSha256(a.blob)), `${out} vs ${fingerprintSha256(a.blob)}`)
  assert.is(keyTypeOfBlob(a.blob), 'ssh-ed25519')
})

test('appendKnownHost creates dir 0700 and file 0600, keeps lines, returns the line number', () => {
  const f = join(dir, 'new', 'sub', 'known_hosts')
  assert.is(appendKnownHost(f, '[127.0.0.1]:2222', a.blob), 1)
  assert.is(statSync(f).mode & 0o777, 0o600)
  assert.is(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o700)
  writeFileSync(f, readFileSync(f, 'utf8') + `# no newline at end`)
  assert.is(appendKnownHost(f, 'web1', b.blob), 3)
  const lines = readFileSync(f, 'utf8').split('\n')
  assert.is(lines[0], `[127.0.0.1]:2222 ssh-ed25519 ${a.b64}`)
  assert.is(lines[2], `web1 ssh-ed25519 ${b.b64}`)
  const entries = loadKnownHosts([f, join(dir, 'missing')])
  assert.is(checkHostKey(entries, 'web1', b.blob).status, 'match')
})

test.run()
