#!/usr/bin/env -S sh -c 'exec node --import "$(dirname "$(realpath "$0")")/../src/tsx.mjs" "$0" "$@"'
// `npm run lab -- <verb>`: the local lab of Debian hosts on this machine.
import { spawn } from 'node:child_process'
import { BerthError } from '../src/errors.ts'
import { ensurePrerequisites } from './prerequisites.ts'
import { LabError, requireLinuxRoot, requireTools, HOST_TOOLS } from './errors.ts'
import { ensureArtifacts } from './artifacts.ts'
import { ensureImage, readImage, imageDir } from './image.ts'
import { DEFAULT_INVENTORY, Lab, type HostStatus } from './lab.ts'
import { Progress } from './progress.ts'

const USAGE = `usage: npm run lab -- [-i INVENTORY] <verb> [args]

  image [--rebuild]     build the base image (or reuse the cached one)
  up [NAMES...]         start hosts (all by default); running ones stay as they are
  down                  stop everything of the lab and remove it (keeps image and key pair)
  status                hosts, state, address
  ssh NAME [CMD...]     ssh to a host as root (strict host key checking)
  kill NAME             power cut: every process of the host dies at once
  stop NAME             clean shutdown
  start NAME            start a stopped or killed host, with its data
  partition NAME        cut a host off the lab network (both directions)
  partition NAME OTHER  cut only the link between two hosts (unicast): both stay reachable from the machine
  heal NAME [OTHER]     undo either
  exec NAME CMD...      run a command inside a host from the machine (works while partitioned)

  -i, --inventory FILE  the lab inventory (default: ${DEFAULT_INVENTORY})
`

function table(rows: HostStatus[]): string {
  const lines = [['HOST', 'STATE', 'ADDRESS', 'PID', 'MEMORY', 'GROUPS']]
  for (const r of rows)
    lines.push([r.name, r.state, r.address, r.nspawnPid === undefined ? '-' : String(r.nspawnPid), r.memoryMb === undefined ? '-' : `${r.memoryMb} MB`, r.groups.join(',')])
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? []
  return lines.map((l) => l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

function oneName(verb: string, args: string[]): string {
  const [name, ...rest] = args
  if (!name || rest.length > 0) throw new LabError(`lab ${verb} takes one host name`, { hint: `npm run lab -- ${verb} NAME` })
  return name
}

async function main(argv: string[]): Promise<number> {
  let inventory = DEFAULT_INVENTORY
  const args = [...argv]
  while (args[0]?.startsWith('-') && args[0] !== '--') {
    const flag = args.shift() as string
    if (flag === '-i' || flag === '--inventory') {
      const v = args.shift()
      if (!v) throw new LabError(`${flag} needs a file`)
      inventory = v
    } else if (flag === '-h' || flag === '--help') {
      process.stdout.write(USAGE)
      return 0
    } else throw new LabError(`unknown option ${flag}`, { hint: USAGE })
  }
  const [verb, ...rest] = args
  if (!verb) {
    process.stdout.write(USAGE)
    return 2
  }
  const say = (line: string): void => {
    process.stdout.write(line + '\n')
  }
  // Long steps on stderr: one updating line on a terminal, plain lines otherwise.
  // Messages go through it too, so they never land in the middle of that line.
  const progress = new Progress(process.stderr)
  const log = (line: string): void => progress.line(line)
  const open = (): Lab => Lab.open(inventory, log, progress)

  // The demo's prerequisites step (lab/prerequisites.ts), before any verb touches the machine.
  const prerequisites = await ensurePrerequisites('demo', log)
  if (prerequisites.unmet) throw new LabError(prerequisites.unmet.message)

  switch (verb) {
    case 'image': {
      requireLinuxRoot()
      requireTools(HOST_TOOLS)
      const rebuild = rest.includes('--rebuild')
      const cached = readImage(imageDir())
      const info = await ensureImage({ rebuild, log, progress })
      await ensureArtifacts(info, log)
      say(
        cached && !rebuild
          ? `image ${info.dir} (cached; built ${info.builtAt} in ${info.buildSeconds} s, ${info.repoPackages} packages in its apt repository)`
          : `image ${info.dir}: built in ${info.buildSeconds} s, ${info.repoPackages} packages (${info.repoMegabytes} MB) in its apt repository`,
      )
      return 0
    }
    case 'up': {
      const lab = open()
      const r = await lab.up(rest)
      if (r.started.length > 0) say(`started ${r.started.join(', ')} in ${r.seconds} s`)
      if (r.alreadyRunning.length > 0) say(`already running: ${r.alreadyRunning.join(', ')}`)
      say(table(await lab.status()))
      return 0
    }
    case 'down': {
      const r = await open().down()
      say(
        `lab down in ${r.seconds} s: ${r.killedHosts.length === 0 ? 'no host was running' : `stopped ${r.killedHosts.join(', ')}`}` +
          `${r.orphans > 0 ? `, killed ${r.orphans} orphaned processes` : ''}${r.bridgeRemoved ? ', bridge removed' : ''}` +
          `${r.unreaped.length > 0 ? `; ${r.unreaped.length} killed process(es) not yet reaped by their parent: ${r.unreaped.join(', ')}` : ''}`,
      )
      return 0
    }
    case 'status': {
      say(table(await open().status()))
      return 0
    }
    case 'start': {
      const name = oneName(verb, rest)
      const r = await open().start(name)
      say(r.started.length > 0 ? `${name} started in ${r.seconds} s` : `${name} is already running`)
      return 0
    }
    case 'stop': {
      const name = oneName(verb, rest)
      const t0 = performance.now()
      const r = await open().stop(name)
      say(r === 'not running' ? `${name} is not running` : `${name} ${r === 'stopped' ? 'shut down cleanly' : 'did not shut down in time and was killed'} in ${Math.round(performance.now() - t0)} ms`)
      return 0
    }
    case 'kill': {
      const name = oneName(verb, rest)
      const t0 = performance.now()
      const r = await open().kill(name)
      say(r === 'not running' ? `${name} is not running` : `${name} killed (power cut) in ${Math.round(performance.now() - t0)} ms`)
      return 0
    }
    case 'partition': {
      if (rest.length === 2) {
        const [a, b] = rest as [string, string]
        await open().partitionBetween(a, b)
        say(`${a} and ${b} no longer reach each other; the machine and the other hosts reach both`)
        return 0
      }
      const name = oneName(verb, rest)
      const veth = await open().partition(name)
      say(`${name} is cut off the lab network (${veth} down)`)
      return 0
    }
    case 'heal': {
      if (rest.length === 2) {
        const [a, b] = rest as [string, string]
        await open().healBetween(a, b)
        say(`${a} and ${b} reach each other again`)
        return 0
      }
      const name = oneName(verb, rest)
      const veth = await open().heal(name)
      say(`${name} is back on the lab network (${veth} up)`)
      return 0
    }
    case 'ssh': {
      const [name, ...cmd] = rest
      if (!name) throw new LabError('lab ssh needs a host name', { hint: 'npm run lab -- ssh NAME [CMD...]' })
      const lab = open()
      const tty = cmd.length === 0 && process.stdin.isTTY ? ['-t'] : []
      const child = spawn('ssh', [...lab.sshArgs(name, tty), ...cmd], { stdio: 'inherit' })
      return await new Promise<number>((resolve) => {
        child.on('error', (e) => {
          process.stderr.write(`lab: cannot run ssh: ${e.message} (apt-get install openssh-client)\n`)
          resolve(1)
        })
        child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)))
      })
    }
    case 'exec': {
      const [name, ...cmd] = rest
      if (!name || cmd.length === 0) throw new LabError('lab exec needs a host name and a command', { hint: 'npm run lab -- exec NAME CMD...' })
      const r = await open().exec(name, cmd)
      process.stdout.write(r.stdout)
      process.stderr.write(r.stderr)
      return r.code ?? 1
    }
    default:
      throw new LabError(`unknown lab verb '${verb}'`, { hint: USAGE })
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof BerthError) process.stderr.write(`lab: ${e.describe()}\n`)
    else process.stderr.write(`lab: unexpected error (a bug in the lab tool):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(e instanceof BerthError ? 1 : 250)
  },
)
