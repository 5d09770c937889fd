// mysql-redis-compose's options: each wrong one fails naming it, before any host.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mysqlRedisCompose, renderProject } from '../../../roles/mysql-redis-compose/index.ts'
import { redisOf, type RedisInput } from '../../../roles/mysql-redis-compose/options.ts'
import { RoleOptionError } from '../../../src/errors.ts'

const PASSWORD = 'Zq7-lab-only-redis-pass_01'
const good = { redis: { image: 'redis:7', password: PASSWORD, bind: ['10.0.0.5', '127.0.0.1'] } }

const cases: [string, object, RegExp][] = [
  ['neither redis nor a database', { redis: undefined }, /option 'redis' is missing, and so is database/],
  ['a short password', { redis: { ...good.redis, password: 'short' } }, /password must be at least 16 characters \(it has 5\)/],
  ['a password with a quote', { redis: { ...good.redis, password: 'abcdefgh"ijklmnopq' } }, /printable ASCII without spaces, quotes/],
  ['bind without 127.0.0.1', { redis: { ...good.redis, bind: ['10.0.0.5'] } }, /bind must include 127\.0\.0\.1/],
  ['a bad port', { redis: { ...good.redis, port: 70000 } }, /port must be from 1 to 65535/],
  ['an image that is no reference', { redis: { ...good.redis, image: 'Redis 7' } }, /image must be an image reference/],
  ['a relative data dir', { redis: { ...good.redis, dataDir: 'data' } }, /dataDir must be an absolute path/],
  ['an unknown persistence', { redis: { ...good.redis, persistence: 'sometimes' } }, /persistence must be 'aof', 'rdb' or 'none'/],
]
for (const [name, options, message] of cases)
  test(`refused: ${name}`, () => {
    const err = (() => {
      try {
        mysqlRedisCompose(options as never)
      } catch (e) {
        return e
      }
    })()
    assert.instance(err, RoleOptionError)
    assert.match((err as Error).message, message)
    assert.not.ok((err as Error).message.includes(PASSWORD))
  })

test('the files: no secret in redis.conf or the compose file; persistence as asked; the spec changes with the definition', () => {
  const o = mysqlRedisCompose.resolve(good as never)
  const files = renderProject({ redis: redisOf(o.redis as RedisInput) })
  assert.not.ok(files.redisConf?.includes(PASSWORD) || files.compose.includes(PASSWORD))
  const conf = files.redisConf ?? ''
  assert.match(conf, /^bind 10\.0\.0\.5 127\.0\.0\.1$/m)
  assert.match(conf, /^appendonly yes$/m)
  assert.match(conf, /^include \/usr\/local\/etc\/redis\/auth\.conf$/m)
  assert.match(files.compose, /network_mode: host/)
  assert.ok(files.compose.includes(`io.berth.spec: "${files.specs.redis}"`))
  const none = renderProject({ redis: redisOf(mysqlRedisCompose.resolve({ redis: { ...good.redis, persistence: 'none' } } as never).redis as RedisInput) })
  assert.match(none.redisConf ?? '', /^save ""$/m)
  assert.match(none.redisConf ?? '', /^appendonly no$/m)
  assert.is.not(none.specs.redis, files.specs.redis)
  const otherPassword = renderProject({ redis: redisOf(mysqlRedisCompose.resolve({ redis: { ...good.redis, password: 'another-password-of-16' } } as never).redis as RedisInput) })
  assert.is(otherPassword.specs.redis, files.specs.redis, 'the password is not part of the spec (a hash of it would be on the container)')
})

test.run()
