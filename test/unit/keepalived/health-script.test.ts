// keepalived-vip's health script (files/berth-vip-health), run by sh with the
// machine's curl against a local HTTP server that answers as Harbor's health
// API does: always HTTP 200 with the verdict in the body, an nginx 502 while
// core is down, and a hang that curl's --max-time must end.
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { test as uvuTest } from 'uvu'
import * as assert from 'uvu/assert'
import { needing } from '../../support/needs.ts'

const test = needing('http-tests', uvuTest, 'health-script.test.ts')

const HEALTH = fileURLToPath(new URL('../../../roles/keepalived-vip/files/berth-vip-health', import.meta.url))
let server: Server
let port = 0
const BODIES: Record<string, [number, string]> = {
  '/healthy': [200, '{"status":"healthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"}]}'],
  '/healthy-pretty': [200, '{\n  "status": "healthy",\n  "components": []\n}'],
  '/unhealthy': [200, '{"status":"unhealthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"unhealthy","error":"dial tcp: refused"}]}'],
  '/component-only': [200, '{"components":[{"name":"core","status":"healthy"}]}'],
  '/bad-gateway': [502, '<html><head><title>502 Bad Gateway</title></head></html>'],
}
test.before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') return // never answers: curl --max-time must end it
    const [code, body] = BODIES[req.url ?? ''] ?? [404, 'no']
    res.writeHead(code, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
})
test.after(() => {
  server.closeAllConnections()
  server.close()
})
const healthRows: [string, number][] = [
  ['/healthy', 0],
  ['/healthy-pretty', 0],
  ['/unhealthy', 1],
  ['/component-only', 1],
  ['/bad-gateway', 1],
  ['/hang', 1],
]
for (const [path, code] of healthRows)
  test(`health script: ${path} exits ${code}`, async () => {
    const started = performance.now()
    const r = await new Promise<{ status: number | null; stderr: string }>((done) =>
      execFile('sh', [HEALTH, `http://127.0.0.1:${port}${path}`, '0.5'], (err, _stdout, stderr) => done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr })),
    )
    assert.is(r.status, code, r.stderr)
    if (code !== 0) assert.match(r.stderr, /^berth-vip-health: /)
    if (path === '/hang') assert.ok(performance.now() - started < 3000, 'curl gave up at its --max-time')
  })

test.run()
