import type { BerthEvent } from './events.ts'

/**
 * A sink for events. Every event reaches it already masked, except at the
 * runbook (Playbook's recorder), which names secrets instead and whose whole
 * output is masked once more.
 */
export interface Reporter {
  emit(event: BerthEvent): void
}
