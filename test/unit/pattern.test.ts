import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError } from '../../src/errors.ts'
import { UnknownHostPatternError, globToRegExp, selectHosts, splitHostPattern, type HostResolver } from '../../src/inventory/pattern.ts'

// Inventory order: w1 w2 x1 d1 lonely. web = w1 w2 x1 (x1 via child group 'extra'), db = d1 w2.
const groups: Record<string, string[]> = {
  all: ['w1', 'w2', 'x1', 'd1', 'lonely'],
  web: ['w1', 'w2', 'x1'],
  extra: ['x1'],
  db: ['d1', 'w2'],
  empty: [],
  ungrouped: ['lonely'],
}
const resolver: HostResolver = {
  all: groups.all as string[],
  group: (name) => groups[name],
  isHost: (name) => (groups.all as string[]).includes(name),
  groupNames: Object.keys(groups),
}

test('patterns select hosts as Ansible does, in inventory order', () => {
  const cases: [pattern: string, expected: string[]][] = [
    ['all', ['w1', 'w2', 'x1', 'd1', 'lonely']],
    ['*', ['w1', 'w2', 'x1', 'd1', 'lonely']],
    ['web', ['w1', 'w2', 'x1']],
    ['extra', ['x1']],
    ['ungrouped', ['lonely']],
    ['d1', ['d1']],
    ['db:web', ['w1', 'w2', 'x1', 'd1']],
    ['db,web', ['w1', 'w2', 'x1', 'd1']],
    ['d1, w1', ['w1', 'd1']],
    ['w1:w1:web', ['w1', 'w2', 'x1']],
    ['web:&db', ['w2']],
    ['web:!db', ['w1', 'x1']],
    ['web,!db', ['w1', 'x1']],
    // Unions first, then intersections, then exclusions, wherever written (Ansible's order_patterns):
    ['web:!db:d1', ['w1', 'x1']],
    ['&web:db', ['w2']],
    ['!db:&web:lonely', []],
    ['!db', ['w1', 'x1', 'lonely']],
    ['&db', ['w2', 'd1']],
    ['w*', ['w1', 'w2', 'x1']], // matches group 'web' (with x1) and hosts w1, w2
    ['x?', ['x1']],
    ['[wx]1', ['w1', 'x1']],
    ['[!w]1', ['x1', 'd1']],
    ['*1', ['w1', 'x1', 'd1']],
    ['~w\\d', ['w1', 'w2']],
    ['~(d|x)', ['w2', 'x1', 'd1']], // a regex matches group names too: 'db' brings w2
    ['web[0]', ['w1']],
    ['web[-1]', ['x1']],
    ['web[1:]', ['w2', 'x1']],
    ['web[0:1]', ['w1', 'w2']],
    ['web[0:1]:db', ['w1', 'w2', 'd1']],
    ['empty', []],
    ['empty:d1', ['d1']],
  ]
  for (const [pattern, expected] of cases) assert.equal(selectHosts(pattern, resolver), expected, pattern)
})

test('unknown names are errors, also after & and ! and for globs matching nothing', () => {
  const cases: [pattern: string, unknown: string[]][] = [
    ['nope', ['nope']],
    ['web:nope', ['nope']],
    ['web:!nope', ['nope']],
    ['web:&nope', ['nope']],
    ['zz*', ['zz*']],
    ['~^q', ['~^q']],
    ['nope:other', ['nope', 'other']],
  ]
  for (const [pattern, unknown] of cases) {
    try {
      selectHosts(pattern, resolver)
      assert.unreachable(pattern)
    } catch (e) {
      assert.instance(e, UnknownHostPatternError, pattern)
      assert.instance(e, ConfigError)
      assert.equal((e as UnknownHostPatternError).unknown, unknown, pattern)
    }
  }
})

test('bad patterns are ConfigErrors', () => {
  const cases: [pattern: string, message: string][] = [
    ['', 'empty host pattern'],
    [' , ', 'empty host pattern'],
    ['web[7]', 'out of range'],
    ['web[5:9]', 'selects no host'],
    ['~(', 'invalid regular expression'],
    ['web:!', 'empty term'],
  ]
  for (const [pattern, message] of cases) {
    try {
      selectHosts(pattern, resolver)
      assert.unreachable(pattern)
    } catch (e) {
      assert.instance(e, ConfigError, pattern)
      assert.ok((e as Error).message.includes(message), `${pattern}: ${(e as Error).message}`)
    }
  }
})

test('a plain term naming a host is that host, even when a group has the same name', () => {
  const clash: HostResolver = { ...resolver, all: ['web', 'w1'], isHost: (n) => n === 'web' || n === 'w1', group: (n) => (n === 'web' ? ['w1'] : groups[n]) }
  assert.equal(selectHosts('web', clash), ['web'])
})

test('names outside all (the implicit localhost) come last', () => {
  const withLocalhost: HostResolver = { ...resolver, isHost: (n) => n === 'localhost' || resolver.isHost(n) }
  assert.equal(selectHosts('localhost:d1', withLocalhost), ['d1', 'localhost'])
})

test('splitHostPattern: commas win over colons; brackets and IPv6 stay whole', () => {
  const cases: [string, string[]][] = [
    ['a:b', ['a', 'b']],
    ['a:&b:!c', ['a', '&b', '!c']],
    ['a,b:c', ['a', 'b:c']],
    [' a , b ', ['a', 'b']],
    ['web[0:2]', ['web[0:2]']],
    ['web[0:2]:db', ['web[0:2]', 'db']],
    ['fe80::1', ['fe80::1']],
    ['a b', ['a', 'b']],
  ]
  for (const [pattern, terms] of cases) assert.equal(splitHostPattern(pattern), terms, pattern)
})

test('globToRegExp follows fnmatch', () => {
  const cases: [glob: string, name: string, matches: boolean][] = [
    ['web*', 'web01', true],
    ['web*', 'xweb', false],
    ['db?', 'db1', true],
    ['db?', 'db10', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'aexample.com', false],
    ['[ab]*', 'bravo', true],
    ['[!ab]*', 'bravo', false],
    ['a+b*', 'a+bc', true],
  ]
  for (const [glob, name, matches] of cases) assert.is(globToRegExp(glob).test(name), matches, `${glob} ~ ${name}`)
})

test.run()
