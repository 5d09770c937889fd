// `aptRepository`: a third-party apt source in deb822 form, trusted only for its
// own signing key (Signed-By), never through the global apt keyring.
import { fileContentFact } from '../facts/file.ts'
import type { FactValues } from '../facts/fact.ts'
import type { Host } from '../host.ts'
import { sh } from '../shell.ts'
import { planContent, type ContentPlan } from './copy.ts'
import { runOp } from '../operations/operation.ts'
import { argumentError } from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'

export interface AptRepositoryOptions {
  /** Names the files: /etc/apt/keyrings/NAME.asc and /etc/apt/sources.list.d/NAME.sources. */
  name: string
  uris: string[] | string
  /** 'bookworm-pgdg'; a flat repository's suite ends with '/' and takes no components. */
  suites: string[] | string
  components: string[] | string
  /** The repository's ASCII-armored signing key. */
  key: string
  architectures?: string[] | string
}

export const KEYRING_DIR = '/etc/apt/keyrings'
export const SOURCES_DIR = '/etc/apt/sources.list.d'

export interface AptRepositoryPlan extends Plan {
  key: ContentPlan
  sources: ContentPlan
}

const list = (value: string[] | string | undefined): string[] => (value === undefined ? [] : typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value)

/** The deb822 stanza (pure, exported for tests). */
export function sourcesFile(options: { uris: string[]; suites: string[]; components: string[]; architectures: string[]; keyPath: string }): string {
  const fields: [string, string[]][] = [
    ['Types', ['deb']],
    ['URIs', options.uris],
    ['Suites', options.suites],
    ['Components', options.components],
    ['Architectures', options.architectures],
    ['Signed-By', [options.keyPath]],
  ]
  return fields
    .filter(([, values]) => values.length > 0)
    .map(([field, values]) => `${field}: ${values.join(' ')}\n`)
    .join('')
}

export function aptRepository(options: AptRepositoryOptions): Task {
  const resource = 'aptRepository'
  if (typeof options.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.name))
    throw argumentError(resource, 'name', `must be a simple file name like 'pgdg' (got ${JSON.stringify(options.name)})`)
  const uris = list(options.uris)
  if (uris.length === 0) throw argumentError(resource, 'uris', 'must name at least one repository URI')
  for (const uri of uris) if (!/^[a-z][a-z0-9+]*:\S+$/.test(uri)) throw argumentError(resource, 'uris', `has an invalid URI ${JSON.stringify(uri)}`)
  const suites = list(options.suites)
  if (suites.length === 0) throw argumentError(resource, 'suites', "must name at least one suite, e.g. 'bookworm-pgdg'")
  const components = list(options.components)
  const flat = suites.every((s) => s.endsWith('/'))
  if (flat && components.length > 0) throw argumentError(resource, 'components', "must be empty for a flat repository (suite ending with '/')")
  if (!flat && components.length === 0) throw argumentError(resource, 'components', "must name at least one component, e.g. 'main'")
  const architectures = list(options.architectures)
  const key = typeof options.key === 'string' ? options.key.trim() : ''
  if (!key.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----') || !key.endsWith('-----END PGP PUBLIC KEY BLOCK-----'))
    throw argumentError(resource, 'key', 'must be an ASCII-armored public key (-----BEGIN PGP PUBLIC KEY BLOCK----- …)', 'a binary .gpg key can be armored with: gpg --enarmor < key.gpg')

  const keyPath = `${KEYRING_DIR}/${options.name}.asc`
  const sourcesPath = `${SOURCES_DIR}/${options.name}.sources`
  const keyContent = Buffer.from(key + '\n')
  const sourcesContent = Buffer.from(sourcesFile({ uris, suites, components, architectures, keyPath }))
  const keyFact = fileContentFact(keyPath)
  const sourcesFact = fileContentFact(sourcesPath)
  const fileOptions = { mode: '0644', owner: 'root', group: 'root' }

  const res: Resource<AptRepositoryPlan> = {
    title: `aptRepository ${options.name}`,
    facts: () => [keyFact, sourcesFact],
    plan: (facts: FactValues) => {
      const keyState = facts.get(keyFact)
      const keyPlan = planContent(keyPath, keyState, { content: keyContent }, fileOptions)
      const sourcesPlan = planContent(sourcesPath, facts.get(sourcesFact), { content: sourcesContent }, fileOptions)
      const parts = [keyPlan.changed ? `key: ${keyPlan.summary}` : '', sourcesPlan.changed ? `sources: ${sourcesPlan.summary}` : ''].filter(Boolean)
      const changed = keyPlan.changed || sourcesPlan.changed
      return {
        changed,
        summary: changed ? [...parts, 'apt-get update'].join('; ') : 'key and sources as wanted',
        diff: sourcesPlan.diff ?? keyPlan.diff,
        key: keyPlan,
        sources: sourcesPlan,
        operations: changed
          ? [
              // /etc/apt/keyrings is missing before Debian 12.
              ...(keyState.exists ? [] : [runOp(sh`mkdir -p -m 0755 ${KEYRING_DIR}`)]),
              ...(keyPlan.operations ?? []),
              ...(sourcesPlan.operations ?? []),
              runOp(sh`apt-get update -q`),
            ]
          : [],
      }
    },
  }
  return task(res)
}
