// The flags every playbook gets, as ansible-playbook spells them. Parsed with
// node's own util.parseArgs (no hand-written parser).
import { parseArgs } from 'node:util'
import { BerthError } from '../errors.ts'

export class UsageError extends BerthError {}

export interface CliOptions {
  inventories: string[]
  check: boolean
  diff: boolean
  limit: string | undefined
  tags: string[]
  skipTags: string[]
  extraVars: string[]
  forks: number
  json: boolean
  verbosity: number
  listHosts: boolean
  listTasks: boolean
  vaultPasswordFiles: string[]
  help: boolean
  timings: boolean
  detectDrift: boolean
  /** Write the run's operations as a Markdown runbook to this file. */
  runbook: string | undefined
}

export const DEFAULT_FORKS = 5
export const DRIFT_EXIT_CODE = 3

export const HELP = `usage: ./playbooks/NAME.ts [-i INVENTORY]... [options]   (or node --import tsx playbooks/NAME.ts …)

  -i, --inventory FILE        inventory YAML (repeatable); default: localhost only
  -C, --check                 report what would change, change nothing
  -D, --diff                  show unified diffs of file contents
  -l, --limit PATTERN         further limit hosts (a:b union, a:&b intersection, a:!b exclusion)
  -t, --tags TAGS             run only tasks with these tags (comma separated, repeatable)
      --skip-tags TAGS        skip tasks with these tags
  -e, --extra-vars VARS       key=value, @file.yml or a JSON/YAML object; highest precedence (repeatable)
  -f, --forks N               hosts worked on in parallel (default ${DEFAULT_FORKS})
      --json                  JSON lines on stdout, one event per line (schema: README)
  -v, --verbose               show commands (-vv: and their output; stack traces on errors)
      --list-hosts            list the hosts of each play, run nothing
      --list-tasks            list the tasks of each play, run nothing
      --vault-password-file F read the vault password from F (an executable F is run); or set BERTH_VAULT_PASSWORD
      --timings               per-task wall time in results and the recap
      --detect-drift          with --check: exit ${DRIFT_EXIT_CODE} when anything would change
      --runbook FILE          write what ran (with --check: what would run) as a Markdown runbook to paste by hand
  -h, --help                  this help

exit codes: 0 ok; 1 error before a host was touched (inventory, variables, options, playbook code);
            2 a host failed; 3 drift found (--check --detect-drift); 4 a host was unreachable;
            5 bad command-line flags; 99 interrupted; 250 unexpected error (a bug in berth)`

const splitList = (values: string[] | undefined): string[] =>
  (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        inventory: { type: 'string', short: 'i', multiple: true },
        check: { type: 'boolean', short: 'C' },
        diff: { type: 'boolean', short: 'D' },
        limit: { type: 'string', short: 'l' },
        tags: { type: 'string', short: 't', multiple: true },
        'skip-tags': { type: 'string', multiple: true },
        'extra-vars': { type: 'string', short: 'e', multiple: true },
        forks: { type: 'string', short: 'f' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v', multiple: true },
        'list-hosts': { type: 'boolean' },
        'list-tasks': { type: 'boolean' },
        'vault-password-file': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        timings: { type: 'boolean' },
        'detect-drift': { type: 'boolean' },
        runbook: { type: 'string' },
      },
    })
  } catch (e) {
    throw new UsageError((e as Error).message, { hint: 'see --help' })
  }
  const v = parsed.values
  const forks = v.forks === undefined ? DEFAULT_FORKS : Number(v.forks)
  if (!Number.isInteger(forks) || forks < 1) throw new UsageError(`--forks must be a whole number of at least 1, got '${v.forks}'`)
  if (v['detect-drift'] && !v.check) throw new UsageError('--detect-drift needs --check', { hint: 'drift is what --check would change' })
  return {
    inventories: v.inventory ?? [],
    check: v.check ?? false,
    diff: v.diff ?? false,
    limit: v.limit,
    tags: splitList(v.tags),
    skipTags: splitList(v['skip-tags']),
    extraVars: v['extra-vars'] ?? [],
    forks,
    json: v.json ?? false,
    verbosity: v.verbose?.length ?? 0,
    listHosts: v['list-hosts'] ?? false,
    listTasks: v['list-tasks'] ?? false,
    vaultPasswordFiles: v['vault-password-file'] ?? [],
    help: v.help ?? false,
    timings: v.timings ?? false,
    detectDrift: v['detect-drift'] ?? false,
    runbook: v.runbook,
  }
}
