// What this machine must have for the demo and the tests, and the one step that
// installs it. `npm run demo`, `npm test` and `.ci/run` all come through here,
// so the list of packages lives in one place (the lab's own tool lists in
// errors.ts, plus what the SSH tests start). As root on Debian or Ubuntu the
// step installs what is missing with one apt-get line, printed before it runs;
// anywhere else it says, in one paragraph, what is missing and the command to run.
import { readFileSync } from 'node:fs'
import { HOST_TOOLS, IMAGE_TOOLS, LabError, findTool, type Tool } from './errors.ts'
import { run, tail } from './proc.ts'

/** A part of the project that needs tools of its own from the machine. */
export type Need = 'lab' | 'ssh-tests' | 'become-tests' | 'host-script-tests'

export interface NeedSpec {
  what: string
  tools: readonly Tool[]
  /** Runs only on Linux. */
  linux?: boolean
  /** Runs only as root. */
  root?: boolean
}

export const NEEDS: Readonly<Record<Need, NeedSpec>> = {
  lab: { what: 'the lab (Debian hosts as systemd-nspawn containers on a bridge)', tools: [...HOST_TOOLS, ...IMAGE_TOOLS], linux: true, root: true },
  // The private sshd's tests log in as root (an unprivileged sshd can only let its own user in).
  'ssh-tests': {
    what: 'the SSH tests (a private sshd on 127.0.0.1)',
    root: true,
    tools: [
      { command: 'sshd', debianPackage: 'openssh-server' },
      { command: 'ssh-keygen', debianPackage: 'openssh-client' },
    ],
  },
  // They add a user to log in as and a sudoers file for it, so they need root too.
  'become-tests': { what: 'the become tests (sudo on this machine)', tools: [{ command: 'sudo', debianPackage: 'sudo' }], linux: true, root: true },
  // Scripts and probes roles run on hosts (Harbor's health, read with curl and jq) run here against a local HTTP server.
  'host-script-tests': {
    what: 'the host-script tests (curl and jq against a local HTTP server)',
    tools: [
      { command: 'curl', debianPackage: 'curl' },
      { command: 'jq', debianPackage: 'jq' },
    ],
  },
}

/** The commands a newcomer runs, and what each needs. */
export const JOBS = {
  demo: { command: 'npm run demo', needs: ['lab'] },
  test: { command: 'npm test', needs: ['ssh-tests', 'become-tests', 'lab', 'host-script-tests'] },
} as const satisfies Record<string, { command: string; needs: readonly Need[] }>
export type Job = keyof typeof JOBS

/** The machine as the step sees it; gathered by `machineFacts`, planned on by the pure `planPrerequisites`. */
export interface MachineFacts {
  platform: NodeJS.Platform
  root: boolean
  /** apt-get is on this machine and /etc/os-release says Debian or a derivative (Ubuntu). */
  apt: boolean
  /** A name for the system in messages ("Debian GNU/Linux 12 (bookworm)"). */
  system: string
  /** Tools that are not found, with the part that needs them. */
  missing: readonly { need: Need; tool: Tool }[]
}

export type PrerequisitesPlan =
  | { kind: 'ready' }
  | { kind: 'install'; packages: string[]; needs: Need[] }
  /** Some needs cannot be met here: `message` says what and the command that meets them. */
  | { kind: 'cannot'; message: string; packages: string[]; needs: Need[] }

const APT_INSTALL = 'apt-get install -y --no-install-recommends'

/** The missing Debian packages, each once, in the order first needed. */
export function missingPackages(missing: MachineFacts['missing']): string[] {
  return [...new Set(missing.map((m) => m.tool.debianPackage))]
}

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)]

/** What to do about `facts` for `job`: nothing, an apt-get line, or a paragraph for the user. */
export function planPrerequisites(facts: MachineFacts, job: Job): PrerequisitesPlan {
  const { command, needs } = JOBS[job]
  const packages = missingPackages(facts.missing)
  const linux = facts.platform === 'linux'
  const offLinux = needs.filter((n) => NEEDS[n].linux && !linux)
  const wantRoot = needs.filter((n) => NEEDS[n].root && !facts.root && !offLinux.includes(n))
  if (facts.missing.length === 0 && offLinux.length === 0 && wantRoot.length === 0) return { kind: 'ready' }
  if (facts.missing.length > 0 && facts.root && facts.apt && offLinux.length === 0)
    return { kind: 'install', packages, needs: unique(facts.missing.map((m) => m.need)) }

  const unmet = unique([...offLinux, ...wantRoot, ...facts.missing.map((m) => m.need)])
  // One clause per part that cannot run: what it lacks (Linux, root, tools).
  const clauses = unmet.map((n) => {
    const lacks: string[] = []
    if (offLinux.includes(n)) lacks.push('Linux')
    if (wantRoot.includes(n)) lacks.push('root')
    const tools = unique(facts.missing.filter((m) => m.need === n).map((m) => `\`${m.tool.command}\``))
    if (tools.length > 0) lacks.push(tools.join(', '))
    return `${NEEDS[n].what} needs ${lacks.join(' and ')}`
  })
  const what = `\`${command}\` cannot run all of its parts here: ${clauses.join('; ')}.`
  const install = `\`sudo ${APT_INSTALL} ${packages.join(' ')}\``
  let todo: string
  if (offLinux.length > 0) todo = `This is ${facts.system}: run it on a Debian 12 or Ubuntu machine or VM, where \`sudo ${command}\` installs what it needs itself.`
  else if (!facts.apt && facts.missing.length > 0)
    todo = `This is ${facts.system}, which has no apt-get: install the equivalent of the Debian packages ${packages.join(', ')} with its own package manager, then run \`${wantRoot.length > 0 ? 'sudo ' : ''}${command}\`.`
  else if (facts.missing.length > 0 && wantRoot.length > 0)
    todo = `Run \`sudo ${command}\`: as root it installs the missing packages itself with one apt-get line (or install them first with ${install}).`
  else if (facts.missing.length > 0) todo = `Run \`sudo ${command}\` (as root it installs them itself), or install them with ${install} and run \`${command}\` again.`
  else todo = `Run \`sudo ${command}\`.`
  return { kind: 'cannot', message: `${what} ${todo}`, packages, needs: unmet }
}

/** Read the facts off this machine for the given needs. */
export function machineFacts(needs: readonly Need[]): MachineFacts {
  let osRelease = ''
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8')
  } catch {
    // not a Linux distribution that says what it is
  }
  const field = (k: string): string => osRelease.match(new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm'))?.[1] ?? ''
  const debianLike = [field('ID'), ...field('ID_LIKE').split(/\s+/)].some((id) => id === 'debian' || id === 'ubuntu')
  const missing: { need: Need; tool: Tool }[] = []
  for (const need of needs) for (const tool of NEEDS[need].tools) if (findTool(tool.command) === undefined) missing.push({ need, tool })
  return {
    platform: process.platform,
    root: process.getuid?.() === 0,
    apt: process.platform === 'linux' && debianLike && findTool('apt-get') !== undefined,
    system: field('PRETTY_NAME') || process.platform,
    missing,
  }
}

/**
 * Packages apt knows no candidate for, from `apt-cache policy P...` output.
 * A package apt has never heard of has no stanza at all; one it knows of but
 * cannot install says `Candidate: (none)`. Either means the lists need an update.
 */
export function packagesWithoutCandidate(policyOutput: string, packages: readonly string[]): string[] {
  const candidates = new Map<string, string>()
  let current: string | undefined
  for (const line of policyOutput.split('\n')) {
    const head = line.match(/^(\S+):$/)
    if (head) current = head[1]
    const cand = line.match(/^\s+Candidate:\s*(\S+)/)
    if (cand && current !== undefined) candidates.set(current.replace(/:\w+$/, ''), cand[1] as string)
  }
  return packages.filter((p) => {
    const c = candidates.get(p)
    return c === undefined || c === '(none)'
  })
}

/** An apt command run to its end, quietly; its exit code and both outputs. */
async function apt(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const r = await run(command, args, { allowFail: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  return { code: r.code, output: r.stdout + r.stderr }
}

export interface PrerequisitesResult {
  /** Packages this step installed (empty when all were there). */
  installed: string[]
  /** Why some needs cannot be met here, one paragraph; the caller decides whether that stops it. */
  unmet?: { message: string; needs: Need[] } | undefined
}

/**
 * Make sure this machine has what `job` needs: install it as root on Debian,
 * or return the paragraph that says what is missing. Every line it prints goes
 * through `say`, so the caller's output stays in order.
 */
export async function ensurePrerequisites(job: Job, say: (line: string) => void): Promise<PrerequisitesResult> {
  const { command, needs } = JOBS[job]
  const plan = planPrerequisites(machineFacts(needs), job)
  if (plan.kind === 'ready') return { installed: [] }
  if (plan.kind === 'cannot') return { installed: [], unmet: { message: plan.message, needs: plan.needs } }

  const started = performance.now()
  const policy = await apt('apt-cache', ['policy', ...plan.packages])
  // One `apt-get update` at most, and only when the lists do not know a package yet.
  if (policy.code !== 0 || packagesWithoutCandidate(policy.output, plan.packages).length > 0) {
    say('berth: apt-get update (the package lists do not know every package needed yet)')
    const update = await apt('apt-get', ['update'])
    if (update.code !== 0) throw new LabError(`\`apt-get update\` failed (exit ${update.code}): ${tail(update.output, 8)}`, { hint: 'check this machine\'s apt sources and network, then run it again' })
  }
  say(`berth: \`${command}\` needs ${plan.needs.map((n) => NEEDS[n].what).join('; ')}; installing: ${APT_INSTALL} ${plan.packages.join(' ')}`)
  const install = await apt('apt-get', [...APT_INSTALL.split(' ').slice(1), ...plan.packages])
  if (install.code !== 0)
    throw new LabError(`\`${APT_INSTALL} ${plan.packages.join(' ')}\` failed (exit ${install.code}): ${tail(install.output, 12)}`, {
      hint: 'fix what apt says above and run it again; nothing else was changed',
    })
  const still = machineFacts(needs).missing
  if (still.length > 0)
    throw new LabError(`apt-get installed ${plan.packages.join(' ')}, but ${unique(still.map((m) => `\`${m.tool.command}\``)).join(', ')} still cannot be found`, {
      hint: `\`dpkg -L ${missingPackages(still).join(' ')}\` shows where the package put its files`,
    })
  say(`berth: installed ${plan.packages.join(' ')} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { installed: plan.packages }
}
