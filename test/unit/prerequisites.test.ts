// The prerequisites step's decisions: machine facts in, plan out.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { planPrerequisites, packagesWithoutCandidate, NEEDS, type MachineFacts, type Need } from '../../lab/prerequisites.ts'

const tool = (need: Need, command: string) => {
  const t = NEEDS[need].tools.find((x) => x.command === command)
  if (!t) throw new Error(`no tool ${command} in ${need}`)
  return { need, tool: t }
}
const debianRoot: MachineFacts = { platform: 'linux', root: true, apt: true, system: 'Debian GNU/Linux 12 (bookworm)', missing: [] }
const fresh: MachineFacts['missing'] = [tool('lab', 'systemd-nspawn'), tool('lab', 'debootstrap'), tool('ssh-tests', 'sshd'), tool('become-tests', 'sudo')]

test('nothing missing, root on Debian: ready, nothing installed', () => {
  assert.equal(planPrerequisites(debianRoot, 'test'), { kind: 'ready' })
  assert.equal(planPrerequisites(debianRoot, 'demo'), { kind: 'ready' })
})

test('root on Debian with tools missing: one install of each package once', () => {
  const missing = [...fresh, tool('lab', 'ssh'), tool('lab', 'ssh-keygen'), tool('ssh-tests', 'ssh-keygen')]
  const plan = planPrerequisites({ ...debianRoot, missing }, 'test')
  assert.equal(plan, { kind: 'install', packages: ['systemd-container', 'debootstrap', 'openssh-server', 'sudo', 'openssh-client'], needs: ['lab', 'ssh-tests', 'become-tests'] })
})

test('without root: one paragraph with the tools, `sudo npm run demo` and the apt line; nothing to install', () => {
  const plan = planPrerequisites({ ...debianRoot, root: false, missing: fresh.slice(0, 2) }, 'demo')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.not.match(plan.message, /\n/)
  assert.match(plan.message, /`npm run demo`/)
  assert.is(
    plan.message,
    '`npm run demo` cannot run all of its parts here: the lab (Debian hosts as systemd-nspawn containers on a bridge) needs root and `systemd-nspawn`, `debootstrap`. Run `sudo npm run demo`: as root it installs the missing packages itself with one apt-get line (or install them first with `sudo apt-get install -y --no-install-recommends systemd-container debootstrap`).',
  )
})

test('without root, nothing missing: the SSH, become and lab tests still need root, and say so', () => {
  const plan = planPrerequisites({ ...debianRoot, root: false }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.equal(plan.needs, ['ssh-tests', 'become-tests', 'lab'])
  assert.match(plan.message, /the SSH tests \(a private sshd on 127\.0\.0\.1\) needs root; .* needs root\. Run `sudo npm test`\.$/)
})

test('off Debian (no apt-get): names the Debian packages and asks for the system\'s own package manager', () => {
  const plan = planPrerequisites({ ...debianRoot, apt: false, system: 'Fedora Linux 40', missing: fresh.slice(2, 3) }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.match(plan.message, /needs `sshd`\. This is Fedora Linux 40, which has no apt-get: install the equivalent of the Debian packages openssh-server with its own package manager, then run `npm test`\.$/)
})

test('not Linux: the lab and become tests cannot run at all; the SSH tests can as root when their tools are there', () => {
  const plan = planPrerequisites({ platform: 'darwin', root: true, apt: false, system: 'darwin', missing: [] }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.equal(plan.needs, ['become-tests', 'lab'])
  assert.match(plan.message, /the lab \(.*\) needs Linux.*This is darwin: run it on a Debian 12 or Ubuntu machine or VM/)
})

test('apt-cache policy: packages with no stanza or no candidate need an update', () => {
  const out = `openssh-server:
  Installed: (none)
  Candidate: 1:9.2p1-2+deb12u10
  Version table:
sudo:
  Installed: (none)
  Candidate: (none)
  Version table:
`
  assert.equal(packagesWithoutCandidate(out, ['openssh-server', 'sudo', 'debootstrap']), ['sudo', 'debootstrap'])
  assert.equal(packagesWithoutCandidate(out, ['openssh-server']), [])
})

test.run()
