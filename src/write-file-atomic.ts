// A local file replaced whole or not at all: written beside, then renamed, so a
// killed process never leaves half a file (a report, the lab's state).
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** Write `path` atomically (temp file and rename), creating its directory; `mode` is set whatever the umask. */
export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, content, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}
