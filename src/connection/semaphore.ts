// A counting semaphore: at most `limit` holders at once, the others wait in FIFO
// order. SshConnection uses it to keep the number of open channels on one SSH
// connection within the server's MaxSessions.

export class Semaphore {
  #limit: number
  #active = 0
  #peak = 0
  readonly #waiting: (() => void)[] = []

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
    this.#limit = limit
  }

  /** Holders right now. */
  get active(): number {
    return this.#active
  }
  /** The most holders there ever were at once. */
  get peak(): number {
    return this.#peak
  }
  get waiting(): number {
    return this.#waiting.length
  }
  get limit(): number {
    return this.#limit
  }

  /** Lower (or raise) the limit; holders above a lowered limit keep their permit until they release it. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
    this.#limit = limit
    this.#drain()
  }

  /** Wait for a permit; the returned function gives it back (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.#active < this.#limit && this.#waiting.length === 0) this.#take()
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    let released = false
    return () => {
      if (released) return
      released = true
      this.#active--
      this.#drain()
    }
  }

  /** Run `fn` holding a permit. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }

  #take(): void {
    this.#active++
    if (this.#active > this.#peak) this.#peak = this.#active
  }

  #drain(): void {
    while (this.#active < this.#limit && this.#waiting.length > 0) {
      const next = this.#waiting.shift()
      this.#take()
      next?.()
    }
  }
}
