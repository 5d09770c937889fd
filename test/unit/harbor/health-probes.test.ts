// Harbor's health as berth's two probes read it: harbor-node's wait
// (healthProbe) and keepalived-vip's health script (files/berth-vip-health),
// run by sh with the machine's curl and jq against a local HTTP server that
// answers as Harbor 2.x's /api/v2.0/health does: always HTTP 200, the verdict
// in the body, the overall status AFTER the components (go-swagger sorts the
// model's fields), each component with a status of its own; also an nginx 502
// while core is down, and a hang that curl's --max-time must end.
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { test as uvuTest } from 'uvu'
import * as assert from 'uvu/assert'
import { healthProbe } from '../../../roles/harbor-node/start.ts'
import { needing } from '../../support/needs.ts'

const test = needing('host-script-tests', uvuTest, 'health-probes.test.ts')

const SCRIPT = fileURLToPath(new URL('../../../roles/keepalived-vip/files/berth-vip-health', import.meta.url))
const BODIES: Record<string, [number, string]> = {
  // Harbor 2.x's own order and shape (goharbor/harbor#16406, goharbor/harbor-helm#1058).
  '/healthy': [200, '{"components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"}],"status":"healthy"}'],
  '/unhealthy': [
    200,
    '{"components":[{"name":"core","status":"healthy"},{"error":"failed to run SQL \\"SELECT 1\\": dial tcp: lookup postgresql: no such host","name":"database","status":"unhealthy"},{"name":"redis","status":"unhealthy"}],"status":"unhealthy"}',
  ],
  // The other order, pretty-printed: read as JSON, the order does not matter.
  '/healthy-status-first': [200, '{\n  "status": "healthy",\n  "components": []\n}'],
  // Every component healthy but no overall verdict: not healthy.
  '/components-only': [200, '{"components":[{"name":"core","status":"healthy"}]}'],
  '/bad-gateway': [502, '<html><head><title>502 Bad Gateway</title></head></html>'],
  '/not-an-object': [200, '"healthy"'],
}

let server: Server
let port = 0
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

const sh = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => execFile('sh', args, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })))

const rows: [string, number, string?][] = [
  ['/healthy', 0],
  ['/unhealthy', 1, 'status: unhealthy; unhealthy: database redis'],
  ['/healthy-status-first', 0],
  ['/components-only', 1],
  ['/bad-gateway', 1],
  ['/not-an-object', 1],
  ['/hang', 1],
]
for (const [path, code, said] of rows) {
  test(`keepalived-vip's health script: ${path} exits ${code}`, async () => {
    const started = performance.now()
    const r = await sh([SCRIPT, `http://127.0.0.1:${port}${path}`, '0.5'])
    assert.is(r.code, code, r.stderr)
    if (code !== 0) assert.match(r.stderr, /^berth-vip-health: /)
    if (path === '/hang') assert.ok(performance.now() - started < 3000, 'curl gave up at its --max-time')
  })
  if (path !== '/hang')
    test(`harbor-node's health wait: ${path} exits ${code}${said ? `, saying ${said}` : ''}`, async () => {
      const r = await sh(['-c', healthProbe(`http://127.0.0.1:${port}${path}`).text])
      assert.is(r.code, code, r.stdout + r.stderr)
      if (said) assert.is(r.stdout.trim(), said)
    })
}

test.run()
