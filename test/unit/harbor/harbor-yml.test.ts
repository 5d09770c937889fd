// harbor.yml per release: the rendered file for lab-like options is kept as a
// golden file (test/fixtures/harbor/<version>/harbor.yml), each checked at
// dev time with Harbor's real prepare of that release (lab/harbor-prepare/).
// Here: the render matches its golden file and holds every key the release's
// prepare requires; keys a release does not read are left out.
// UPDATE_GOLDEN=1 writes the files anew.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { renderHarborYml } from '../../../roles/harbor-node/harbor-yml.ts'
import { harborKeySet, requiredHarborYmlKeys, SUPPORTED_HARBOR_VERSIONS } from '../../../roles/harbor-node/versions.ts'
import { goldenHarborOptions } from '../../support/harbor-options.ts'

const FIXTURES = fileURLToPath(new URL('../../fixtures/harbor/', import.meta.url))

const at = (doc: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc)

for (const version of SUPPORTED_HARBOR_VERSIONS) {
  test(`harbor.yml ${version}: matches its golden file, checked by that release's prepare`, () => {
    const text = renderHarborYml(goldenHarborOptions(version))
    const file = join(FIXTURES, version, 'harbor.yml')
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, text)
    }
    assert.fixture(text, readFileSync(file, 'utf8'))
  })

  test(`harbor.yml ${version}: every key its prepare requires, none it does not read`, () => {
    const keys = harborKeySet(version)!
    const doc = parse(renderHarborYml(goldenHarborOptions(version))) as Record<string, unknown>
    for (const key of requiredHarborYmlKeys(keys)) assert.ok(at(doc, key) !== undefined && at(doc, key) !== null, `${key} missing`)
    assert.is(at(doc, 'jobservice.job_loggers') !== undefined, keys.jobLoggers, 'job_loggers only from 2.9')
    assert.is(at(doc, 'jobservice.logger_sweeper_duration') !== undefined, keys.loggerSweeper, 'logger_sweeper_duration only from 2.8')
    assert.is(at(doc, 'cache') !== undefined, keys.cache, 'cache only from 2.6')
    assert.is(at(doc, 'external_database.harbor.conn_max_lifetime') !== undefined, keys.connLifetimes, 'pool lifetimes only from 2.7')
    // From 2.7 a redis: block makes prepare drop every external_redis value.
    assert.is(doc.redis, undefined)
    assert.is(doc.database, undefined)
    assert.is(at(doc, 'external_redis.host'), '10.77.0.10:6379')
    assert.is(doc._version, `${version}.0`)
    // prepare's script takes the line's last word as a path (grep, awk '{print $NF}'): unquoted, no comment.
    assert.match(renderHarborYml(goldenHarborOptions(version)), /^data_volume: \/data$/m)
  })
}

test('harbor.yml: quoting keeps a password with YAML syntax in it a string', () => {
  const o = goldenHarborOptions('2.11')
  o.database.password = `a: b # "c" 'd'`
  const doc = parse(renderHarborYml(o)) as Record<string, unknown>
  assert.is(at(doc, 'external_database.harbor.password'), `a: b # "c" 'd'`)
})

test('harbor.yml: https names the files the role writes', () => {
  const o = goldenHarborOptions('2.11')
  o.https = { port: 443, certificate: '-----BEGIN CERTIFICATE-----\n', privateKey: '-----BEGIN PRIVATE KEY-----\n' }
  const doc = parse(renderHarborYml(o)) as Record<string, unknown>
  assert.equal(doc.https, { port: 443, certificate: '/etc/harbor/tls/harbor.lab.example.crt', private_key: '/etc/harbor/tls/harbor.lab.example.key' })
})

test.run()
