// After the first runs: the files each tool left must be the same, path for
// path: type, mode, owner, group and content. A bench whose tools did
// different work measures nothing, so a difference stops it with a diff.
import { createTwoFilesPatch } from 'diff'
import type { Host } from '../src/host.ts'

/** One line per path under root: relative path, type, mode, owner, group, and sha256 for files. Sorted. */
export async function describeTree(host: Host, root: string): Promise<string> {
  const meta = await host.$`cd ${root} && find . -mindepth 0 -printf '%P\t%y\t%m\t%u\t%g\n' | LC_ALL=C sort`
  const sums = await host.$`cd ${root} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum`
  const byPath = new Map(sums.stdout.split('\n').filter(Boolean).map((l) => [l.slice(66).replace(/^\.\//, ''), l.slice(0, 64)]))
  return meta.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const path = l.split('\t')[0] ?? ''
      return byPath.has(path) ? `${l}\t${byPath.get(path)}` : l
    })
    .join('\n')
}

export async function compareTrees(host: Host, reference: { label: string; root: string }, other: { label: string; root: string }, expected: readonly string[]): Promise<void> {
  const a = await describeTree(host, reference.root)
  const b = await describeTree(host, other.root)
  const paths = a.split('\n').map((l) => l.split('\t')[0] ?? '').sort()
  if (paths.join('\n') !== [...expected].sort().join('\n'))
    throw new Error(`${host.name}: ${reference.root} holds ${paths.length} paths, not the ${expected.length} the workload makes:\n${createTwoFilesPatch('expected', reference.root, [...expected].sort().join('\n') + '\n', paths.join('\n') + '\n')}`)
  if (a !== b) throw new Error(`${host.name}: ${reference.label} and ${other.label} left different files:\n${createTwoFilesPatch(reference.root, other.root, a + '\n', b + '\n')}`)
}
