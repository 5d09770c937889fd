import type { BerthEvent } from './events.ts'

/** A sink for events. Every event reaches it already masked. */
export interface Reporter {
  emit(event: BerthEvent): void
}

/** One reporter that hands every event to each of `reporters`, in order. */
export function tee(...reporters: Reporter[]): Reporter {
  return { emit: (event) => reporters.forEach((r) => r.emit(event)) }
}
