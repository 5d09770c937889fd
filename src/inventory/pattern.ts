// Host patterns, by Ansible's rules (ansible-core 2.14, checked against `ansible
// --list-hosts`):
//
// - Terms are separated by commas; without a comma, by colons (and whitespace),
//   except inside [..] (so `web[0:2]` stays one term).
// - A term is a host name, a group name (its hosts and its child groups' hosts),
//   `all`, a glob (`web*`, `db?`, `[ab]*`: matches group names and host names), or a
//   regex after `~` (matched from the start of the name). A term may end with a
//   subscript selecting from its hosts: `web[0]`, `web[-1]`, `web[1:]`, `web[0:2]`
//   (end inclusive).
// - `&term` intersects, `!term` excludes. Ansible applies every plain term first
//   (union), then every `&`, then every `!`, wherever they are written; a pattern of
//   only `&`/`!` terms starts from `all`.
//
// Two deliberate differences: the result is in inventory order (Ansible keeps
// pattern-evaluation order), and a term matching no host or group is an error
// (Ansible warns and ignores it), since a typo in --limit must not silently select
// nothing or, with `!`, everything.
import { ConfigError } from '../errors.ts'

export interface HostResolver {
  /** Every host name, in inventory order. */
  all: string[]
  /** Host names in a group (with its child groups), or undefined if no such group. */
  group(name: string): string[] | undefined
  isHost(name: string): boolean
  /** Every group name, for globs and regexes; without it, they match host names only. */
  groupNames?: readonly string[]
}

/** One or more terms of a pattern matched no host and no group. */
export class UnknownHostPatternError extends ConfigError {
  constructor(
    readonly pattern: string,
    /** The terms (without `&`/`!`) that matched nothing. */
    readonly unknown: string[],
  ) {
    super(`host pattern '${pattern}': no host or group named ${unknown.map((u) => `'${u}'`).join(' or ')}`)
  }
}

/** Split a pattern into its terms, as Ansible does ('a,b' / 'a:b' / 'a:&b:!c'). */
export function splitHostPattern(pattern: string): string[] {
  if (pattern.includes(',')) return pattern.split(',').map((t) => t.trim()).filter(Boolean)
  // A bare IPv6 address is one term, not a list of colon-separated ones.
  if (/^[0-9a-fA-F]*:[0-9a-fA-F:.]*:[0-9a-fA-F.]*$/.test(pattern.trim())) return [pattern.trim()]
  return pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []
}

/** Host names selected by a pattern, in inventory order, each once. */
export function selectHosts(pattern: string, resolve: HostResolver): string[] {
  const terms = splitHostPattern(pattern)
  if (terms.length === 0) throw new ConfigError(`empty host pattern '${pattern}'`, { hint: "use 'all' for every host" })
  const plain = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'))
  const intersections = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1))
  const exclusions = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1))
  if (plain.length === 0) plain.push('all')

  const unknown: string[] = []
  const matchTerm = (term: string): string[] => {
    const match = matchOne(term, resolve, pattern)
    if (!match.known) unknown.push(term)
    return match.hosts
  }

  const selected = new Set<string>()
  for (const term of plain) {
    // A plain term naming a host is that host, even if a group has the same name (as Ansible).
    if (resolve.isHost(term)) selected.add(term)
    else for (const host of matchTerm(term)) selected.add(host)
  }
  for (const term of intersections) {
    const keep = new Set(matchTerm(term))
    for (const host of selected) if (!keep.has(host)) selected.delete(host)
  }
  for (const term of exclusions) for (const host of matchTerm(term)) selected.delete(host)

  if (unknown.length > 0) throw new UnknownHostPatternError(pattern, [...new Set(unknown)])
  return inInventoryOrder(selected, resolve.all)
}

interface TermMatch {
  hosts: string[]
  /** Some group or host answered to the term (an existing empty group is known). */
  known: boolean
}

function matchOne(term: string, resolve: HostResolver, pattern: string): TermMatch {
  if (term.length === 0) throw new ConfigError(`host pattern '${pattern}' has an empty term after '&' or '!'`)
  const { expression, subscript } = splitSubscript(term)
  const matcher = nameMatcher(expression, pattern)
  const hosts: string[] = []
  let known = false

  if (expression === 'all') {
    hosts.push(...resolve.all)
    known = true
  } else {
    const groups = matcher.isLiteral
      ? resolve.group(expression) !== undefined
        ? [expression]
        : []
      : (resolve.groupNames ?? []).filter((g) => matcher.test(g))
    for (const group of groups) hosts.push(...(resolve.group(group) ?? []))
    known = groups.length > 0
    if (groups.length === 0 || !matcher.isLiteral || expression.includes('.')) {
      if (matcher.isLiteral) {
        if (resolve.isHost(expression)) hosts.push(expression)
      } else hosts.push(...resolve.all.filter((h) => matcher.test(h)))
    }
  }
  const unique = [...new Set(hosts)]
  if (unique.length > 0) known = true
  if (!subscript || unique.length === 0) return { hosts: unique, known }
  return { hosts: applySubscript(unique, subscript, term), known }
}

interface Subscript {
  start: number
  /** Inclusive end; undefined for a single index. */
  end: number | undefined
}

function splitSubscript(term: string): { expression: string; subscript: Subscript | undefined } {
  if (term.startsWith('~')) return { expression: term, subscript: undefined }
  const m = /^(.+)\[(?:(-?\d+)|(\d+):(\d*))\]$/.exec(term)
  if (!m || m[1] === undefined) return { expression: term, subscript: undefined }
  if (m[2] !== undefined) return { expression: m[1], subscript: { start: Number(m[2]), end: undefined } }
  return { expression: m[1], subscript: { start: Number(m[3]), end: m[4] ? Number(m[4]) : -1 } }
}

function applySubscript(hosts: string[], { start, end }: Subscript, term: string): string[] {
  if (end === undefined) {
    const host = hosts.at(start)
    if (host === undefined) throw new ConfigError(`host pattern '${term}': index ${start} is out of range (${hosts.length} hosts)`)
    return [host]
  }
  const last = end === -1 ? hosts.length - 1 : end
  const slice = hosts.slice(start, last + 1)
  if (slice.length === 0) throw new ConfigError(`host pattern '${term}': the range selects no host (${hosts.length} hosts)`)
  return slice
}

interface NameMatcher {
  isLiteral: boolean
  test(name: string): boolean
}

function nameMatcher(expression: string, pattern: string): NameMatcher {
  if (expression.startsWith('~')) {
    let regex: RegExp
    try {
      // Python's re.match: anchored at the start only. The sticky flag anchors at lastIndex 0.
      regex = new RegExp(expression.slice(1), 'y')
    } catch (e) {
      throw new ConfigError(`host pattern '${pattern}': invalid regular expression '${expression.slice(1)}': ${(e as Error).message}`)
    }
    return {
      isLiteral: false,
      test: (name) => {
        regex.lastIndex = 0
        return regex.test(name)
      },
    }
  }
  if (!/[*?[]/.test(expression)) return { isLiteral: true, test: (name) => name === expression }
  const regex = globToRegExp(expression)
  return { isLiteral: false, test: (name) => regex.test(name) }
}

/** fnmatch's glob: `*`, `?`, `[abc]`, `[!abc]`; everything else literal; case-sensitive. */
export function globToRegExp(glob: string): RegExp {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') source += '.*'
    else if (c === '?') source += '.'
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2)
      if (close === -1) {
        source += '\\['
        continue
      }
      let body = glob.slice(i + 1, close)
      const negate = body.startsWith('!')
      if (negate) body = body.slice(1)
      source += `[${negate ? '^' : ''}${body.replace(/[\\^\]]/g, '\\$&')}]`
      i = close
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  return new RegExp(`^(?:${source})$`, 's')
}

function inInventoryOrder(selected: Set<string>, all: string[]): string[] {
  const inOrder = all.filter((h) => selected.has(h))
  // Names outside `all` (the implicit localhost) keep their selection order, last.
  if (inOrder.length === selected.size) return inOrder
  const listed = new Set(all)
  return [...inOrder, ...[...selected].filter((h) => !listed.has(h))]
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The closest name, if close enough to be a likely typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate)
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined
}
