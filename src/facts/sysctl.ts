// A kernel parameter's live value, from `sysctl -n`.
import { fact, type Fact, type ProbeOutput } from './fact.ts'
import { sh } from '../shell.ts'

/** Multi-valued parameters print tab-separated: compare them with single spaces. */
export const normalizeSysctlValue = (value: string): string => value.trim().split(/\s+/).join(' ')

/** `net/ipv4/ip_forward` and `net.ipv4.ip_forward` name the same parameter. */
export const normalizeSysctlName = (name: string): string => name.replace(/\//g, '.')

/** The value, or undefined when the kernel has no such parameter. */
export function parseSysctl(output: ProbeOutput): string | undefined {
  if (output.code === 0) return normalizeSysctlValue(output.stdout)
  if (/cannot stat|No such file/.test(output.stderr)) return undefined
  throw new Error(output.stderr.trim() || `sysctl exited with code ${output.code}`)
}

export function sysctlFact(name: string): Fact<string | undefined> {
  const key = normalizeSysctlName(name)
  return fact(`sysctl:${key}`, sh`sysctl -n ${key}`, parseSysctl)
}
