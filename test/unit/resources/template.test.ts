import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../../src/errors.ts'
import { factValues } from '../../../src/facts/fact.ts'
import { secret } from '../../../src/secrets.ts'
import { DEFAULT_TEMPLATES_DIR, renderTemplate, template } from '../../../src/resources/template.ts'
import type { ContentPlan } from '../../../src/resources/copy.ts'
import { writeOf } from '../../support/plans.ts'

const templatesDir = fileURLToPath(new URL('../../fixtures/templates/', import.meta.url))
const motdVars = { hostname: 'db1', admins: [{ name: 'Ann', email: 'ann@example.org' }], raw: 'a & b <c>' }

function configError(build: () => unknown): ConfigError {
  try {
    build()
  } catch (e) {
    assert.instance(e, ConfigError)
    return e as ConfigError
  }
  throw new Error('expected a ConfigError')
}

test('renders with it.*, trims with -%>, prints & and < unescaped', () => {
  const { text, revealsSecret } = renderTemplate('motd.ejs', motdVars, templatesDir)
  assert.is(text, 'Welcome to db1.\nAdmins:\n  - Ann <ann@example.org>\nTokens & ampersands stay a & b <c>.\n')
  assert.is(revealsSecret, false)
})

test('syntax error: ConfigError with the template file:line, before any host', () => {
  const e = configError(() => template({ path: '/etc/x', src: 'syntax-error.ejs', vars: { port: 1, ssl: true }, templatesDir }))
  assert.is(e.where, 'test/fixtures/templates/syntax-error.ejs:4')
  assert.match(e.message, /template syntax error: Unexpected token/)
})

test('unclosed tag: the line of the opening tag', () => {
  const e = configError(() => renderTemplate('unclosed-tag.ejs', {}, templatesDir))
  assert.is(e.where, 'test/fixtures/templates/unclosed-tag.ejs:2')
  assert.match(e.message, /Could not find matching close tag/)
})

test('missing variable: named with its path, at file:line', () => {
  const top = configError(() => renderTemplate('missing-variable.ejs', { pg: { port: 5432 } }, templatesDir))
  assert.is(top.where, 'test/fixtures/templates/missing-variable.ejs:2')
  assert.is(top.message, "template variable 'listen' is not set")
  const nested = configError(() => renderTemplate('missing-variable.ejs', { listen: '*', pg: {} }, templatesDir))
  assert.is(nested.where, 'test/fixtures/templates/missing-variable.ejs:3')
  assert.is(nested.message, "template variable 'pg.port' is not set")
  const inArray = configError(() => renderTemplate('motd.ejs', { ...motdVars, admins: [{ name: 'Bob' }] }, templatesDir))
  assert.is(inArray.message, "template variable 'admins[0].email' is not set")
  assert.is(inArray.where, 'test/fixtures/templates/motd.ejs:5')
})

test("optional variables: 'name' in it; null prints empty", () => {
  assert.is(renderTemplate('optional.ejs', { value: 1 }, templatesDir).text, 'value = 1\n')
  assert.is(renderTemplate('optional.ejs', { value: null, comment: 'hi' }, templatesDir).text, '# hi\nvalue = \n')
})

test('runtime errors keep file:line and the JavaScript message', () => {
  const e = configError(() => renderTemplate('runtime-error.ejs', { list: [1] }, templatesDir))
  assert.is(e.where, 'test/fixtures/templates/runtime-error.ejs:2')
  assert.match(e.message, /TypeError: x.toUpperCase is not a function/)
})

test('includes resolve next to the template', () => {
  assert.is(renderTemplate('nested/include.ejs', { value: 3 }, templatesDir).text, 'part: included\nmain = 3\n')
})

test('a missing template names the folder it was looked for in', () => {
  const e = configError(() => template({ path: '/etc/x', src: 'nope.ejs', vars: {}, templatesDir }))
  assert.match(e.message, /template test\/fixtures\/templates\/nope.ejs cannot be read: ENOENT/)
})

test('a Secret prints its value and makes the file sensitive: no diff, content hidden', () => {
  const t = template({ path: '/etc/app/secret.conf', src: 'secret.ejs', vars: { password: secret('hunter22') }, templatesDir, mode: '0600' })
  const plan = t.resource.plan(factValues([[t.resource.facts()[0]!, { exists: false }]])) as ContentPlan
  assert.is(writeOf(plan)?.content.toString(), 'password = hunter22\n')
  assert.is(plan.diff, undefined)
  assert.is(plan.summary, 'create /etc/app/secret.conf (0600) (content hidden: sensitive)')
  assert.is(writeOf(plan)?.sensitive, true)
})

test('plan and title like copy', () => {
  const t = template({ path: '/etc/motd', src: 'motd.ejs', vars: motdVars, templatesDir })
  assert.is(t.name, 'template /etc/motd')
  const plan = t.resource.plan(factValues([[t.resource.facts()[0]!, { exists: false }]]))
  assert.is(plan.diff?.after, renderTemplate('motd.ejs', motdVars, templatesDir).text)
})

test('default templates folder: the repository templates/', () => {
  assert.is(DEFAULT_TEMPLATES_DIR, fileURLToPath(new URL('../../../templates', import.meta.url)))
})

test('arguments', () => {
  assert.throws(() => template({ path: '/x', src: '', vars: {}, templatesDir }), /argument 'src'/)
  assert.throws(() => template({ path: '/x', src: 'motd.ejs', vars: [] as unknown as Record<string, unknown>, templatesDir }), /argument 'vars'/)
  assert.throws(() => template({ path: '/x', src: 'motd.ejs', vars: motdVars, templatesDir, mode: '8' }), /argument 'mode'/)
})

test.run()
