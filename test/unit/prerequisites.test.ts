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
  assert.match(plan.message, /must run as root/)
  assert.match(plan.message, /`systemd-nspawn`, `debootstrap`/)
  assert.match(plan.message, /Run `sudo npm run demo`/)
  assert.match(plan.message, /`sudo apt-get install -y --no-install-recommends systemd-container debootstrap`/)
})

test('without root, nothing missing: the SSH, become and lab tests still need root, and say so', () => {
  const plan = planPrerequisites({ ...debianRoot, root: false }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.equal(plan.needs, ['ssh-tests', 'become-tests', 'lab'])
  assert.match(plan.message, /must run as root\. Run `sudo npm test`\.$/)
})

test('off Debian (no apt-get): names the Debian packages and asks for the system\'s own package manager', () => {
  const plan = planPrerequisites({ ...debianRoot, apt: false, system: 'Fedora Linux 40', missing: fresh.slice(2, 3) }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.match(plan.message, /This is Fedora Linux 40, which has no apt-get: install the equivalent of the Debian packages openssh-server/)
})

test('not Linux: the lab and become tests cannot run at all; the SSH tests can as root when their tools are there', () => {
  const plan = planPrerequisites({ platform: 'darwin', root: true, apt: false, system: 'darwin', missing: [] }, 'test')
  assert.is(plan.kind, 'cannot')
  if (plan.kind !== 'cannot') return
  assert.equal(plan.needs, ['become-tests', 'lab'])
  assert.match(plan.message, /runs only on Linux, and this is darwin/)
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
