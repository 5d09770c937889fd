import type { BerthEvent } from './events.ts'

/** A sink for events. Every event reaches it already masked. */
export interface Reporter {
  emit(event: BerthEvent): void
}
