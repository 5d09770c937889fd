// Where this machine gets Debian from, read from its own apt configuration at
// run time: the project never writes a mirror's address anywhere. Both source
// formats are understood: one-line `deb [opts] URI SUITE COMPONENT...` in
// sources.list / *.list, and deb822 stanzas in *.sources.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { LabError } from './errors.ts'

export interface AptSource {
  uri: string
  suite: string
  components: string[]
  file: string
}

/** Parse one-line sources (`deb [arch=amd64] http://… bookworm main`). deb-src and comments are skipped. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue
    const rest = line
      .slice(3)
      .trim()
      .replace(/^\[[^\]]*\]\s*/, '')
    const [uri, suite, ...components] = rest.split(/\s+/)
    if (uri && suite) out.push({ uri, suite, components, file })
  }
  return out
}

/** Parse deb822 stanzas (`Types: deb`, `URIs:`, `Suites:`, `Components:`, `Enabled:`). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>()
    let last: string | undefined
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`) // a continuation line
        continue
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw)
      if (m && m[1]) {
        last = m[1].toLowerCase()
        fields.set(last, m[2] ?? '')
      }
    }
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean)
    if (!words('types').includes('deb')) continue
    if (/^(no|false|0)$/i.test((fields.get('enabled') ?? 'yes').trim())) continue
    for (const uri of words('uris')) for (const suite of words('suites')) out.push({ uri, suite, components: words('components'), file })
  }
  return out
}

/** Every enabled `deb` source this machine's apt knows. */
export function machineAptSources(root = '/etc/apt'): AptSource[] {
  const out: AptSource[] = []
  const main = join(root, 'sources.list')
  if (existsSync(main)) out.push(...parseOneLineSources(readFileSync(main, 'utf8'), main))
  const dir = join(root, 'sources.list.d')
  if (existsSync(dir))
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f)
      if (f.endsWith('.list')) out.push(...parseOneLineSources(readFileSync(p, 'utf8'), p))
      else if (f.endsWith('.sources')) out.push(...parseDeb822Sources(readFileSync(p, 'utf8'), p))
    }
  return out
}

export interface DebianMirror {
  /** The mirror serving `suite` itself (what debootstrap uses). */
  primary: string
  /** `deb URI SUITE main` lines for the suite, its -updates and -security, as this machine has them. */
  lines: string[]
}

/** The machine's Debian mirror for `suite` (bookworm) with component main; a clear error if there is none. */
export function debianMirror(suite: string, sources: AptSource[] = machineAptSources()): DebianMirror {
  const wanted = new Set([suite, `${suite}-updates`, `${suite}-security`])
  const usable = sources.filter((s) => wanted.has(s.suite) && s.components.includes('main') && /^(https?|file):/.test(s.uri))
  const primary = usable.find((s) => s.suite === suite)
  if (!primary)
    throw new LabError(`this machine's apt configuration has no '${suite} main' source, so the lab cannot find a Debian mirror to build its image from`, {
      hint: `add one to /etc/apt/sources.list (or a deb822 file in /etc/apt/sources.list.d/): deb <your Debian mirror> ${suite} main`,
    })
  const lines = [...new Set(usable.map((s) => `deb ${s.uri} ${s.suite} main`))]
  return { primary: primary.uri, lines }
}
