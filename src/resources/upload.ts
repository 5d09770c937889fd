// `upload`: a file from the controller placed on the host as is (an offline
// installer, an image archive), as Ansible's `copy: src=`. Too big to carry in
// a plan as bytes: the plan compares checksums and its operation names the
// source, which the executor streams and the runbook asks the operator to copy.
import { createHash } from 'node:crypto'
import { openSync, readSync, closeSync, statSync } from 'node:fs'
import { BerthError } from '../errors.ts'
import { fileContentFact } from '../facts/file.ts'
import type { FactValues } from '../facts/fact.ts'
import { uploadOp } from '../operations/operation.ts'
import { argumentError, checkAbsolutePath, checkAttributes } from './file.ts'
import { task, type Plan, type Resource, type Task } from './resource.ts'

export interface UploadOptions {
  /** The file on the machine berth runs on. */
  source: string
  /** Where it goes on the host (its directory must exist). */
  path: string
  mode?: string
  owner?: string
  group?: string
}

export interface LocalFile {
  sha256: string
  bytes: number
}

const sums = new Map<string, { key: string; file: LocalFile }>()

/** The controller file's sha256 and size, read once per run for the same size and mtime. */
export function localFile(path: string): LocalFile {
  const st = statSync(path)
  const key = `${st.size}:${st.mtimeMs}:${st.ino}`
  const known = sums.get(path)
  if (known && known.key === key) return known.file
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(1 << 20)
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  const file = { sha256: h.digest('hex'), bytes: st.size }
  sums.set(path, { key, file })
  return file
}

/** Pure: the host's file against the controller's. */
export function planUpload(o: { source: string; path: string; mode?: string | undefined; owner?: string | undefined; group?: string | undefined }, local: LocalFile, remote: { exists: false } | { exists: true; kind: string; sha256?: string | undefined; mode: string; owner: string; group: string }): Plan {
  if (remote.exists && remote.kind !== 'file') throw new BerthError(`${o.path} is a ${remote.kind}, not a file: berth does not replace it with ${o.source}`, { hint: 'remove it, or upload to another path' })
  const same = remote.exists && remote.sha256 === local.sha256
  const attrsSame = remote.exists && (o.mode === undefined || remote.mode === o.mode) && (o.owner === undefined || remote.owner === o.owner) && (o.group === undefined || remote.group === o.group)
  if (same && attrsSame) return { changed: false, summary: `same sha256 as ${o.source}` }
  return {
    changed: true,
    summary: same ? `${o.path}: mode or owner` : `${remote.exists ? 'replace' : 'copy'} ${o.source} (${local.bytes} bytes, sha256 ${local.sha256.slice(0, 12)}…)`,
    operations: [uploadOp(o.source, o.path, local, { mode: o.mode, owner: o.owner, group: o.group, replaces: remote.exists ? remote.sha256 : 'absent' })],
  }
}

export function upload(options: UploadOptions): Task {
  const resource = 'upload'
  const path = checkAbsolutePath(resource, 'path', options.path)
  if (typeof options.source !== 'string' || options.source === '') throw argumentError(resource, 'source', 'must be the path of a file on this machine')
  try {
    if (!statSync(options.source).isFile()) throw argumentError(resource, 'source', `${options.source} is not a regular file`)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw argumentError(resource, 'source', `${options.source} does not exist on this machine`)
    throw e
  }
  const attrs = checkAttributes(resource, options)
  const probe = fileContentFact(path)
  const res: Resource = {
    title: `upload ${path}`,
    facts: () => [probe],
    plan: (facts: FactValues) => {
      const remote = facts.get(probe)
      if (remote.exists && remote.kind === 'file' && remote.sha256 === undefined) throw new BerthError(`${path} exists but cannot be read to compare with ${options.source}`)
      return planUpload({ source: options.source, path, ...attrs }, localFile(options.source), remote)
    },
  }
  return task(res)
}
