// `sysctl`: a kernel parameter set in a sysctl.d file (for boots to come) and,
// unless apply is false, in the running kernel (`sysctl -w`).
import { BerthError } from '../errors.ts'
import { fileContentFact, type FileState } from '../facts/file.ts'
import type { FactValues } from '../facts/fact.ts'
import { normalizeSysctlName, normalizeSysctlValue, sysctlFact } from '../facts/sysctl.ts'
import type { Host } from '../host.ts'
import { sh, type ShellCommand } from '../shell.ts'
import { planContent, type ContentPlan } from './copy.ts'
import { argumentError, checkAbsolutePath, commandOperations } from './file.ts'
import { insertLines, joinLines, splitLines, type Line } from './line-in-file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'

export interface SysctlOptions {
  name: string
  value: string | number
  /** Default /etc/sysctl.d/99-berth.conf. */
  file?: string
  /** Also set the running kernel's value. Default true. */
  apply?: boolean
}

export interface SysctlPlan extends Plan {
  file?: ContentPlan | undefined
  commands: ShellCommand[]
}

const SETTING = /^\s*-?\s*([^=#;\s][^=]*?)\s*=\s*(.*?)\s*$/

/**
 * Pure edit of a sysctl.d file: the last line setting `name` (either spelling,
 * dots or slashes) gets `name = value`, unless it already says that value; with
 * no such line one is added at the end. Comments and other lines are untouched.
 */
export function editSysctl(before: string, name: string, value: string): string {
  const key = normalizeSysctlName(name)
  const wanted = normalizeSysctlValue(value)
  const lines = splitLines(before)
  let last = -1
  lines.forEach((l, i) => {
    const m = SETTING.exec(l.text)
    if (m && normalizeSysctlName(m[1] ?? '') === key) last = i
  })
  if (last >= 0) {
    const m = SETTING.exec((lines[last] as Line).text)
    if (normalizeSysctlValue(m?.[2] ?? '') === wanted) return before
    ;(lines[last] as Line).text = `${key} = ${wanted}`
    return joinLines(lines)
  }
  insertLines(lines, lines.length, [`${key} = ${wanted}`])
  return joinLines(lines)
}

export function planSysctl(name: string, value: string, filePath: string, file: FileState, live: string | undefined | null): SysctlPlan {
  const key = normalizeSysctlName(name)
  if (live === undefined) throw new BerthError(`the kernel has no parameter ${key}`, { hint: 'check the name (sysctl -a lists them), or load the module that provides it' })
  const filePlan = planContent(filePath, file, { edit: (before) => editSysctl(before ?? '', key, value) }, {})
  const commands: ShellCommand[] = []
  const notes: string[] = []
  if (filePlan.changed) notes.push(`${filePath}: ${filePlan.summary}`)
  // null: the live value is not managed (apply: false).
  if (live !== null && live !== normalizeSysctlValue(value)) {
    commands.push(sh`sysctl -q -w ${`${key}=${normalizeSysctlValue(value)}`}`)
    notes.push(`${key} ${live} -> ${normalizeSysctlValue(value)}`)
  }
  const changed = filePlan.changed || commands.length > 0
  return {
    changed,
    summary: changed ? notes.join('; ') : `${key} = ${normalizeSysctlValue(value)}`,
    diff: filePlan.diff,
    file: filePlan.changed ? filePlan : undefined,
    commands,
    operations: [...(filePlan.changed ? (filePlan.operations ?? []) : []), ...commandOperations(commands)],
  }
}

export function sysctl(options: SysctlOptions): Task {
  const resource = 'sysctl'
  if (typeof options.name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/.test(options.name))
    throw argumentError(resource, 'name', `must be a parameter name like 'net.ipv4.ip_forward' (got ${JSON.stringify(options.name)})`)
  if ((typeof options.value !== 'string' && typeof options.value !== 'number') || /[\n#;]/.test(String(options.value)) || String(options.value).trim() === '')
    throw argumentError(resource, 'value', 'must be a number or a one-line value')
  const file = checkAbsolutePath(resource, 'file', options.file ?? '/etc/sysctl.d/99-berth.conf')
  const value = String(options.value)
  const apply = options.apply ?? true
  const fileFact = fileContentFact(file)
  const liveFact = sysctlFact(options.name)
  const key = normalizeSysctlName(options.name)
  const res: Resource<SysctlPlan> = {
    title: `sysctl ${key}`,
    facts: () => (apply ? [fileFact, liveFact] : [fileFact]),
    plan: (facts: FactValues) => planSysctl(key, value, file, facts.get(fileFact), apply ? facts.get(liveFact) : null),
  }
  return task(res)
}
