// The runbook formatter: operations in, shell out (tables), and a golden
// Markdown for a small run.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readSecretLine, RunbookReporter, renderOperation, sensitiveInput } from '../../../src/report/runbook.ts'
import type { OperationRecord } from '../../../src/operations/record.ts'
import { recordOf } from '../../../src/operations/record.ts'
import { guardOp, runOp, uploadOp, waitOp, writeOp } from '../../../src/operations/operation.ts'
import { sh, ShellCommand } from '../../../src/shell.ts'
import { Redactor } from '../../../src/secrets.ts'
import { OperationShell } from '../../../src/report/runbook.ts'

const SHA = 'ab'.repeat(32)
const cases: [string, OperationRecord, string[]][] = [
  [
    'an upload: the operator copies the file first; its sha256 is checked before it is placed',
    recordOf(uploadOp('/srv/harbor-offline-installer-v2.11.1.tgz', '/opt/harbor.tgz', { sha256: SHA, bytes: 1234 }, { mode: '0600', replaces: 'absent' })),
    [
      '# /opt/harbor.tgz: 1234 bytes, mode 0600, copied from /srv/harbor-offline-installer-v2.11.1.tgz (see the top of this runbook)',
      `printf '%s  %s\\n' ${SHA} /root/berth-files/abababababab-harbor-offline-installer-v2.11.1.tgz | sha256sum -c --quiet -`,
      'tmp=$(mktemp "$(dirname -- /opt/harbor.tgz)/.berth.XXXXXXXX")',
      'cp -- /root/berth-files/abababababab-harbor-offline-installer-v2.11.1.tgz "$tmp"',
      'chmod 0600 "$tmp"',
      'if [ -e /opt/harbor.tgz ]; then chown --reference=/opt/harbor.tgz "$tmp"; fi',
      "if [ -e /opt/harbor.tgz ] || [ -L /opt/harbor.tgz ]; then echo '/opt/harbor.tgz appeared after berth read it: not overwritten; run again to plan on what is there now' >&2; exit 4; fi",
      'mv -f "$tmp" /opt/harbor.tgz',
    ],
  ],
  ['a command', recordOf(runOp(sh`systemctl restart ${'nginx'}`)), ['systemctl restart nginx']],
  [
    'a command with text on stdin: a quoted heredoc',
    recordOf(runOp(sh`psql -X`, { stdin: 'SELECT 1;\n' })),
    ["{ psql -X\n} <<'BERTH_EOF'", 'SELECT 1;', 'BERTH_EOF'],
  ],
  [
    'stdin without a final newline: base64, so the bytes stay exact',
    recordOf(runOp(sh`cat`, { stdin: 'no newline' })),
    ["printf '%s' bm8gbmV3bGluZQ== | base64 -d | { cat\n}"],
  ],
  [
    'a heredoc delimiter that is a line of the content is changed',
    recordOf(runOp(sh`cat`, { stdin: 'BERTH_EOF\nx\n' })),
    ["{ cat\n} <<'BERTH_EOF_1'", 'BERTH_EOF', 'x', 'BERTH_EOF_1'],
  ],
  [
    'a file: temp file beside it, exact content, attributes, validation, rename',
    recordOf(writeOp('/etc/app.conf', 'a = 1\n', { mode: '0640', owner: 'root', group: 'adm', validate: 'app -t %s' })),
    [
      '# /etc/app.conf: 6 bytes, mode 0640, root:adm',
      'tmp=$(mktemp "$(dirname -- /etc/app.conf)/.berth.XXXXXXXX")',
      `cat > "$tmp" <<'BERTH_EOF'`,
      'a = 1',
      'BERTH_EOF',
      'chmod 0640 "$tmp"',
      'chown root "$tmp"',
      'chgrp adm "$tmp"',
      '{ app -t "$tmp" ; } >&2 || { echo "validation failed: app -t <new /etc/app.conf>" >&2; exit 3; }',
      'mv -f "$tmp" /etc/app.conf',
    ],
  ],
  [
    'a sensitive file: its content is never shown',
    recordOf(writeOp('/root/.pgpass', 'db:5432:*:u:secret\n', { mode: '0600', sensitive: true })),
    [
      '# /root/.pgpass: 19 bytes, mode 0600',
      'tmp=$(mktemp "$(dirname -- /root/.pgpass)/.berth.XXXXXXXX")',
      '# its content is sensitive: not in this runbook; put it in /root/berth-sensitive/root/.pgpass first',
      'cat -- /root/berth-sensitive/root/.pgpass > "$tmp"',
      'chmod 0600 "$tmp"',
      'if [ -e /root/.pgpass ]; then chown --reference=/root/.pgpass "$tmp"; fi',
      'mv -f "$tmp" /root/.pgpass',
    ],
  ],
  [
    'a command whose input is sensitive (SQL with a password verifier): read from a file the operator puts there first',
    recordOf(runOp(sh`psql -f -`, { stdin: 'ALTER ROLE x PASSWORD ...;\n', sensitive: true })),
    [`# its standard input is sensitive: not in this runbook; put it in ${sensitiveInput('psql -f -')} first`, `{ psql -f -\n} < ${sensitiveInput('psql -f -')}`],
  ],
  [
    'a wait: a bounded loop',
    recordOf(waitOp(sh`pg_isready -q`, 'PostgreSQL accepts connections', { intervalMs: 500, timeoutMs: 30000 })),
    [
      '# wait until: PostgreSQL accepts connections (at most 30 s)',
      `i=0; until ( pg_isready -q ); do i=$((i+1)); if [ "$i" -ge 60 ]; then echo 'gave up waiting: PostgreSQL accepts connections' >&2; exit 1; fi; sleep 0.5; done`,
    ],
  ],
  [
    'a guard: the rule, not the branch one run took',
    recordOf(guardOp(sh`test -e /run/restart-needed`, 'a setting waits for a restart', [runOp(sh`systemctl restart postgresql`)])),
    ['# only if a setting waits for a restart', 'if test -e /run/restart-needed; then', 'systemctl restart postgresql', 'fi'],
  ],
]

for (const [name, op, lines] of cases)
  test(`render: ${name}`, () => {
    assert.equal(renderOperation(op), lines)
  })

// Secrets from a vault file are known by their variable's name.
const vault = new Redactor()
vault.add('s3cr3t-Pa$$', 'pg_harbor_password')
vault.add('r3pl1cat0r', ['pg', 'replicationPassword'])
vault.add('no-name-known')

const named: [string, OperationRecord, string[]][] = [
  [
    'a sensitive input that is a named secret: a reference, never the value',
    recordOf(runOp(sh`perl scram.pl | psql`, { stdin: 's3cr3t-Pa$$', sensitive: true })),
    [': "${PG_HARBOR_PASSWORD:?set PG_HARBOR_PASSWORD first: see the top of this runbook}"', `printf '%s' "\${PG_HARBOR_PASSWORD}" | { perl scram.pl | psql\n}`],
  ],
  [
    'a file with a named secret in it: an unquoted heredoc where only the secret expands',
    recordOf(writeOp('/var/lib/postgresql/.pgpass', '# $HOME `x` \\n\n*:5432:*:replicator:r3pl1cat0r\n', { mode: '0600', sensitive: true })),
    [
      ': "${PG_REPLICATION_PASSWORD:?set PG_REPLICATION_PASSWORD first: see the top of this runbook}"',
      '# /var/lib/postgresql/.pgpass: 46 bytes, mode 0600',
      'tmp=$(mktemp "$(dirname -- /var/lib/postgresql/.pgpass)/.berth.XXXXXXXX")',
      'cat > "$tmp" <<BERTH_EOF',
      '# \\$HOME \\`x\\` \\\\n',
      '*:5432:*:replicator:${PG_REPLICATION_PASSWORD}',
      'BERTH_EOF',
      'chmod 0600 "$tmp"',
      'if [ -e /var/lib/postgresql/.pgpass ]; then chown --reference=/var/lib/postgresql/.pgpass "$tmp"; fi',
      'mv -f "$tmp" /var/lib/postgresql/.pgpass',
    ],
  ],
  [
    'sensitive content with a secret that has no name: from a file the operator puts there, not shown',
    recordOf(runOp(sh`psql`, { stdin: 'ALTER ROLE x PASSWORD no-name-known r3pl1cat0r;\n', sensitive: true })),
    [`# its standard input is sensitive: not in this runbook; put it in ${sensitiveInput('psql')} first`, `{ psql\n} < ${sensitiveInput('psql')}`],
  ],
]

for (const [name, op, lines] of named)
  test(`render with named secrets: ${name}`, () => {
    assert.equal(new OperationShell(vault).block([op]), lines)
  })

test('a wait whose probe spans lines: in a subshell of its own (its exit ends the probe, not the block), described on one line; sh runs it', async () => {
  const { execFileSync } = await import('node:child_process')
  const multi = new ShellCommand(`n=$(( $(cat "$F" 2>/dev/null || echo 0) + 1 )); echo $n > "$F"\n[ "$n" -ge 3 ] && exit 0\nexit 1`)
  const lines = renderOperation(recordOf(waitOp(multi, `command ${multi.text} succeeds`, { intervalMs: 10, timeoutMs: 1000 })))
  assert.is(lines[0], '# wait until: command n=$(( $(cat "$F" 2>/dev/null || echo 0) + 1 )); echo $n > "$F" … (at most 1 s)')
  const dir = (await import('node:fs')).mkdtempSync('/tmp/berth-wait-')
  try {
    const out = execFileSync('sh', ['-c', [`F=${dir}/n`, '(', 'set -e', ...lines, 'echo after-the-wait', ')'].join('\n')], { encoding: 'utf8' })
    assert.is(out.trim(), 'after-the-wait')
  } finally {
    ;(await import('node:fs')).rmSync(dir, { recursive: true, force: true })
  }
})

test('a secret that spans lines and ends the file (a PEM key): printf, not a heredoc, and read up to Ctrl-D; sh writes the exact bytes', async () => {
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'
  const keys = new Redactor()
  keys.add(pem, 'harbor_token_private_key')
  assert.is(keys.multiLine('HARBOR_TOKEN_PRIVATE_KEY'), true)
  assert.is(vault.multiLine('PG_HARBOR_PASSWORD'), false)
  assert.is(readSecretLine('HARBOR_TOKEN_PRIVATE_KEY', true), "IFS= read -rsd '' -p 'HARBOR_TOKEN_PRIVATE_KEY (paste it, then Ctrl-D on a line of its own): ' HARBOR_TOKEN_PRIVATE_KEY; echo")
  assert.is(readSecretLine('PG_HARBOR_PASSWORD', false), "read -rsp 'PG_HARBOR_PASSWORD: ' PG_HARBOR_PASSWORD && echo")
  const dir = mkdtempSync('/tmp/berth-runbook-')
  try {
    const block = new OperationShell(keys).block([recordOf(writeOp(`${dir}/key.pem`, pem, { mode: '0600', sensitive: true }))])
    assert.ok(block.some((l) => l === 'printf \'%s\' "${HARBOR_TOKEN_PRIVATE_KEY}" > "$tmp"' || l.includes('printf \'%s\' "${HARBOR_TOKEN_PRIVATE_KEY}"')), block.join('\n'))
    // As the operator's read leaves it: every pasted line, the last newline included.
    const script = ['HARBOR_TOKEN_PRIVATE_KEY="$(printf \'%s\\n\' \'-----BEGIN PRIVATE KEY-----\' MIIB \'-----END PRIVATE KEY-----\'; printf x)"', 'HARBOR_TOKEN_PRIVATE_KEY="${HARBOR_TOKEN_PRIVATE_KEY%x}"', '(', 'set -e', ...block, ')'].join('\n')
    execFileSync('sh', ['-c', script])
    assert.is(readFileSync(`${dir}/key.pem`, 'utf8'), pem)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a block with a named secret, run by sh, writes the exact bytes berth would', async () => {
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const dir = mkdtempSync('/tmp/berth-runbook-')
  try {
    const content = '# $HOME `x` \\n "q" \\\n*:5432:*:replicator:r3pl1cat0r\ntrailing s3cr3t-Pa$$ end\n'
    const block = new OperationShell(vault).block([recordOf(writeOp(`${dir}/out`, content, { sensitive: true }))])
    const script = ['PG_REPLICATION_PASSWORD=r3pl1cat0r', "PG_HARBOR_PASSWORD='s3cr3t-Pa$$'", '(', 'set -e', ...block, ')'].join('\n')
    execFileSync('sh', ['-c', script])
    assert.is(readFileSync(`${dir}/out`, 'utf8'), content)
    const unset = ['(', 'set -e', ...block, ')'].join('\n')
    assert.throws(() => execFileSync('sh', ['-c', unset], { stdio: 'pipe' }), /PG_HARBOR_PASSWORD first|PG_REPLICATION_PASSWORD first/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('records: binary content as base64, text as text', () => {
  assert.equal(recordOf(writeOp('/x', Buffer.from([0, 1, 2]))), { kind: 'write', path: '/x', contentBase64: 'AAEC', bytes: 3 })
  assert.equal(recordOf(writeOp('/x', 'text\n')), { kind: 'write', path: '/x', content: 'text\n', bytes: 5 })
  assert.equal(recordOf(runOp(sh`cat`, { stdin: Buffer.from([255]) })), { kind: 'run', command: 'cat', stdinBase64: '/w==', stdinBytes: 1 })
})

test('golden: a run of two tasks on two hosts, a skipped and a code-only step', () => {
  const rb = new RunbookReporter({ playbook: 'site', invocation: './playbooks/site.ts -i hosts.yml', version: '0.1.0' }, (h) =>
    h === 'web1' ? { address: '10.0.0.1', user: 'admin', become: 'root' } : { address: '10.0.0.2', port: '2222', user: 'root' },
  )
  rb.emit({ kind: 'playbook_start', playbook: 'site', check: true, diff: false, time: '2026-12-02T10:00:00.000Z' })
  rb.emit({ kind: 'play_start', play: 'web', pattern: 'web', hosts: ['web1', 'web2'] })
  rb.emit({ kind: 'task_start', play: 'web', task: 'motd', handler: false })
  rb.emit({ kind: 'host_result', play: 'web', task: 'motd', host: 'web1', status: 'changed', durationMs: 1, operations: [recordOf(writeOp('/etc/motd', 'hi\n', { mode: '0644' }))] })
  rb.emit({ kind: 'host_result', play: 'web', task: 'motd', host: 'web2', status: 'ok', durationMs: 1, operations: [] })
  rb.emit({ kind: 'task_start', play: 'web', task: 'migrate', handler: false })
  rb.emit({ kind: 'host_result', play: 'web', task: 'migrate', host: 'web1', status: 'changed', durationMs: 1 })
  rb.emit({ kind: 'host_result', play: 'web', task: 'migrate', host: 'web2', status: 'skipped', durationMs: 1 })
  rb.emit({ kind: 'task_start', play: 'web', task: 'reload nginx', handler: true })
  rb.emit({ kind: 'host_result', play: 'web', task: 'reload nginx', host: 'web1', status: 'changed', durationMs: 1, operations: [recordOf(runOp(sh`systemctl reload nginx`))] })
  assert.fixture(
    rb.markdown(),
    `# Runbook: site

- What would run now (\`--check\`): nothing was changed. Made by berth 0.1.0 on 2026-12-02T10:00:00.000Z from \`./playbooks/site.ts -i hosts.yml\`.
- Each block runs on the host named above it, as root, in a POSIX shell: open the host with the \`ssh\` line, then paste the blocks in order; each is a subshell that stops at its first error, and you stop there too. A host's blocks for a play come after those for the plays before it.
- Tasks with nothing to do are listed without a block.

## Play: web (\`web\`)

### web1: \`ssh admin@10.0.0.1\` then \`sudo -i\`

1. motd

\`\`\`sh
(
set -e
# /etc/motd: 3 bytes, mode 0644
tmp=$(mktemp "$(dirname -- /etc/motd)/.berth.XXXXXXXX")
cat > "$tmp" <<'BERTH_EOF'
hi
BERTH_EOF
chmod 0644 "$tmp"
if [ -e /etc/motd ]; then chown --reference=/etc/motd "$tmp"; fi
mv -f "$tmp" /etc/motd
)
\`\`\`

2. migrate: **cannot be run by hand**: this step records no operations (it ran as code)

3. handler: reload nginx

\`\`\`sh
(
set -e
systemctl reload nginx
)
\`\`\`

### web2: \`ssh -p 2222 root@10.0.0.2\`

1. motd: nothing to do

2. migrate: skipped (its condition is false)
`,
  )
})

test.run()
