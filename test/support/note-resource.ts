// A minimal resource for engine tests: "the file PATH holds TEXT". The real
// resources live in src/resources; this one keeps runner tests independent of them.
import { fact } from '../../src/facts/fact.ts'
import { sh } from '../../src/shell.ts'
import { task, type Task } from '../../src/resources/resource.ts'

export const noteFact = (path: string) =>
  fact(`note:${path}`, sh`cat ${path} 2>/dev/null`, (o) => (o.code === 0 ? o.stdout : undefined))

export function note(path: string, text: string): Task {
  const f = noteFact(path)
  return task({
    title: `note ${path}`,
    facts: () => [f],
    plan: (facts) => {
      const before = facts.get(f)
      return before === text
        ? { changed: false }
        : { changed: true, summary: before === undefined ? `create ${path}` : `rewrite ${path}`, diff: { path, before: before ?? '', after: text } }
    },
    apply: async (host) => {
      await host.$`cat > ${path}`.stdin(text)
    },
  })
}
