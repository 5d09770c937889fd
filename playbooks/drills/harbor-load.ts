// Harbor under a client while its database moves (seed 001: "Harbor keeps
// serving"): one loop pulls an image (reads: the token, the manifest, the
// project in Harbor's database), another pushes it under a new tag each time
// (writes: an artifact row per push), both through one Harbor name, each
// attempt logged ok or fail. The drill reads from the logs how long each was
// interrupted.
import { raw, sh, quote, type Host } from '../../src/index.ts'
import { attemptLoop, BackgroundLoad, type LoadSample } from '../../src/drill/load.ts'

export interface HarborLoad {
  pulls: BackgroundLoad
  pushes: BackgroundLoad
}

/** The repository of an image reference (without its tag). */
export function repositoryOf(image: string): string {
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  return colon > slash ? image.slice(0, colon) : image
}

/** Start both loops on `client` (its Docker must trust the registry and be logged in to push). */
export async function startHarborLoad(client: Host, image: string): Promise<HarborLoad> {
  // A tag per push ($i: the attempt's number); the local tag goes again, the pushed one stays in Harbor.
  const tagged = raw(`${quote(`${repositoryOf(image)}:berth-drill-`)}"$i"`)
  const push = sh`docker tag ${image} ${tagged} && timeout 20 docker push -q ${tagged}; r=$?; docker rmi ${tagged} >/dev/null 2>&1; exit $r`
  const pulls = await BackgroundLoad.start(client, 'harbor-pulls', attemptLoop(sh`timeout 10 docker pull -q ${image}`, 0.2))
  const pushes = await BackgroundLoad.start(client, 'harbor-pushes', attemptLoop(push, 0.5))
  return { pulls, pushes }
}

/** The longest time without a successful attempt from `fromMs` on (the last success before it counts as the start), and the attempts that failed meanwhile. */
export function longestGap(samples: readonly LoadSample[], fromMs: number): { gapMs: number; failed: number; from?: number; to?: number } {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs)
  const oks = sorted.filter((s) => s.ok)
  const start = oks.filter((s) => s.atMs <= fromMs).at(-1)?.atMs ?? fromMs
  let prev = start
  let best = { gapMs: 0, from: undefined as number | undefined, to: undefined as number | undefined }
  for (const s of oks.filter((x) => x.atMs > fromMs)) {
    if (s.atMs - prev > best.gapMs) best = { gapMs: s.atMs - prev, from: prev, to: s.atMs }
    prev = s.atMs
  }
  const last = sorted.at(-1)
  // Still failing at the end: the gap runs to the last attempt.
  if (last && !last.ok && last.atMs - prev > best.gapMs) best = { gapMs: last.atMs - prev, from: prev, to: undefined }
  return { ...best, failed: sorted.filter((s) => !s.ok && s.atMs > start).length }
}
