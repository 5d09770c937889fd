// A bounded wait on a probe run from the controller, that says how long it
// took: drills measure with it, a playbook reconnecting a host waits with it.

export interface WaitedFor<T> {
  ok: boolean
  /** How long the wait took, ms. */
  waitedMs: number
  attempts: number
  /** The probe's last answer. */
  value: T | undefined
}

/**
 * A bounded wait on a probe run from the controller: returns when `done(value)`
 * holds or after `timeoutMs`, saying how long it took either way. A probe that
 * throws counts as not done (its message is kept as the value's stand-in).
 */
export async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, opts: { timeoutMs: number; intervalMs?: number }): Promise<WaitedFor<T> & { error?: string }> {
  const started = performance.now()
  let attempts = 0
  let value: T | undefined
  let error: string | undefined
  for (;;) {
    attempts++
    try {
      value = await probe()
      error = undefined
      if (done(value)) return { ok: true, waitedMs: performance.now() - started, attempts, value }
    } catch (e) {
      error = (e as Error).message
    }
    const elapsed = performance.now() - started
    if (elapsed >= opts.timeoutMs) return { ok: false, waitedMs: elapsed, attempts, value, ...(error ? { error } : {}) }
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 200, Math.max(0, opts.timeoutMs - elapsed))))
  }
}
