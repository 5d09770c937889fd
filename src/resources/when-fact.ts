// `whenFact`: a task that applies only where a fact says so, Ansible's `when:`
// on a gathered fact. The decision is read with the task's own facts, in the
// same batch, and shown: a skipped task says why (`skipping: [nfs1] => …`).
// Tasks are built before any host is read, so a choice that depends on the host
// (does its kernel have nfsd?) is made here, not by building other tasks.
import type { Fact, FactValues } from '../facts/fact.ts'
import { BerthError } from '../errors.ts'
import { Task, type Plan, type Resource } from './resource.ts'

/**
 * `applies` returns true where the task applies, or why it does not (the skip's
 * summary). The inner task keeps its name, options and file:line.
 */
export function whenFact<T>(probe: Fact<T>, applies: (value: T) => true | string, inner: Task): Task {
  const r = inner.resource
  if (r.check) throw new BerthError(`whenFact: ${inner.name} reads its state by hand (check()), not from facts`, { hint: 'wrap a resource that plans from facts' })
  const resource: Resource<Plan> = {
    title: r.title,
    ...(r.waits ? { waits: true } : {}),
    facts: () => [probe, ...r.facts()],
    plan: (facts: FactValues): Plan => {
      const verdict = applies(facts.get(probe))
      return verdict === true ? r.plan(facts) : { changed: false, skipped: true, summary: verdict }
    },
  }
  return new Task(resource, inner.options, inner.definedAt)
}
