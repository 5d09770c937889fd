// The Docker pieces' plans: facts in, operations out (no host, no executor).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dockerPackagesToInstall, composeCommand } from '../../../roles/docker/engine.ts'
import { planImage } from '../../../roles/docker/image.ts'
import { parseProjectContainers, planCompose } from '../../../roles/docker/compose.ts'
import { operationsOf } from '../../support/plans.ts'

const has = (...names: string[]) => (n: string) => names.includes(n)

const packageCases: [string, Parameters<typeof dockerPackagesToInstall>, string[]][] = [
  ['fresh host, no Docker repository: the distribution', ['auto', has(), false], ['docker.io', 'docker-compose']],
  ['fresh host with Docker repository: docker-ce and the compose plugin', ['auto', has(), true], ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin']],
  ['distribution asked for although docker-ce is offered', ['distribution', has(), true], ['docker.io', 'docker-compose']],
  ['docker.io installed without compose: its compose', ['auto', has('docker.io'), true], ['docker-compose']],
  ['docker-ce installed without compose: the plugin', ['distribution', has('docker-ce'), false], ['docker-compose-plugin']],
  ['an engine and a compose: nothing', ['auto', has('docker-ce', 'docker-compose'), true], []],
]
for (const [name, args, want] of packageCases) test(`docker packages: ${name}`, () => assert.equal(dockerPackagesToInstall(...args), want))

test('image present: no change; absent without archive: pull; with archive: upload, load, remove, check the tag', () => {
  assert.is(planImage({ name: 'redis:7' }, 'present').changed, false)
  assert.equal(operationsOf(planImage({ name: 'redis:7' }, 'absent')), ['docker pull redis:7', "docker image inspect --format '{{.Id}}' redis:7 >/dev/null"])
  const sha = 'c'.repeat(64)
  assert.equal(operationsOf(planImage({ name: 'redis:7', archive: '/srv/redis.tar' }, 'absent', { sha256: sha, bytes: 10 })), [
    `upload /srv/redis.tar (sha256 ${sha}) to /var/tmp/berth-image-redis.tar`,
    'docker load -i /var/tmp/berth-image-redis.tar',
    'rm -f /var/tmp/berth-image-redis.tar',
    "docker image inspect --format '{{.Id}}' redis:7 >/dev/null",
  ])
})

test('docker ps lines: a service is running only if all its containers are up', () => {
  const m = parseProjectContainers('redis\tUp 3 minutes (healthy)\tabc\ndb\tExited (1) 2 seconds ago\tdef\nweb\tUp 1 second\tx\nweb\tExited (0) now\tx\n')
  assert.equal([...m.entries()], [
    ['redis', { running: true, spec: 'abc' }],
    ['db', { running: false, spec: 'def' }],
    ['web', { running: false, spec: 'x' }],
  ])
})

const project = { dir: '/opt/p', name: 'p' }
const composeCases: [string, Map<string, { running: boolean; spec: string }>, string | undefined][] = [
  ['running as defined: nothing', new Map([['redis', { running: true, spec: 'a1' }]]), undefined],
  ['not created', new Map(), 'up: redis not created'],
  ['defined anew (the spec label differs)', new Map([['redis', { running: true, spec: 'old' }]]), 'up: redis defined anew'],
  ['stopped', new Map([['redis', { running: false, spec: 'a1' }]]), 'up: redis not running'],
]
for (const [name, running, summary] of composeCases)
  test(`compose up: ${name}`, () => {
    const plan = planCompose(project, { redis: 'a1' }, running)
    assert.is(plan.changed, summary !== undefined)
    if (summary) {
      assert.is(plan.summary, summary)
      assert.equal(operationsOf(plan), [composeCommand('/opt/p', 'p', ['up', '-d', '--remove-orphans']).text])
    }
  })

test('compose command: the plugin when present, docker-compose otherwise, decided on the host', () => {
  assert.is(
    composeCommand('/opt/p', 'p', ['up', '-d']).text,
    'cd /opt/p && if docker compose version >/dev/null 2>&1; then docker compose -p p up -d; else docker-compose -p p up -d; fi',
  )
})

test.run()
