// Every resource against a real host: gather -> plan -> apply -> gather again,
// which must plan no change; then the real result on disk is checked. The same
// suite runs through LocalConnection and over SSH to a private sshd (both reach
// this machine's own file system, so results are checked with node's fs). Every test works in its own temp dir, and whatever it creates
// outside it (users, groups, mounts) is undone in after.each, even on failure.
import { suite } from 'uvu'
import { needing } from './needs.ts'
import type { Need } from '../../lab/prerequisites.ts'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gather } from '../../src/facts/gather.ts'
import { Host } from '../../src/host.ts'
import { sh } from '../../src/shell.ts'
import type { ApplyOutput, Plan, Task } from '../../src/resources/resource.ts'
import { applyPlan, hostState, runTask } from '../../src/runner/tasks.ts'
import {
  blockInFile,
  command,
  copy,
  file,
  group,
  lineInFile,
  mount,
  template,
  upload,
  user,
  waitFor,
} from '../../src/resources/index.ts'

export interface SuiteHost {
  host: Host
  close(): Promise<void>
}

export function resourceSuite(label: string, open: () => Promise<SuiteHost>, needs: readonly Need[] = []): void {
  const s = needing(needs, suite(label), label)
  let host: Host
  let opened: SuiteHost | undefined
  s.before(async () => {
    opened = await open()
    host = opened.host
  })
  s.after(async () => {
    await opened?.close()
  })
  const templatesDir = fileURLToPath(new URL('../fixtures/templates/', import.meta.url))
  // Tests that chown, add users or mount need root; without it they are skipped, and uvu counts them.
  const asRoot = process.getuid?.() === 0 ? s : s.skip

  let dir = ''
  let cleanups: (() => void)[] = []
  const onCleanup = (fn: () => void) => cleanups.push(fn)

  s.before.each(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-resources-'))
    cleanups = []
  })
  s.after.each(() => {
    for (const fn of cleanups.reverse())
      try {
        fn()
      } catch {
        // Cleanup goes on: one failed step must not leave the rest behind.
      }
    rmSync(dir, { recursive: true, force: true })
  })

  const planNow = async (t: Task): Promise<Plan> => (t.resource.check ? t.resource.check(host) : t.resource.plan(await gather(host, t.resource.facts())))

  /** Run one task as the runner would; the second plan must find nothing to do. */
  async function converge(t: Task): Promise<{ plan: Plan; output: ApplyOutput | void }> {
    const plan = await planNow(t)
    const output = plan.changed ? await applyPlan(host, t, plan) : undefined
    const again = await planNow(t)
    assert.is(again.changed, false, `${t.name}: second plan still wants: ${again.summary}`)
    return { plan, output }
  }

  const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, '0')

  asRoot('file: directory with setgid, touch, link, then absent', async () => {
    const data = join(dir, 'data/sub')
    const created = await converge(file({ path: data + '/', mode: '2775', group: 'adm' }))
    assert.is(created.plan.summary, 'create directory (2775 :adm)')
    assert.is(modeOf(data), '2775')
    assert.is(statSync(data).gid, 4)

    // Clearing setgid needs the five-digit chmod: a second converge proves it.
    const cleared = await converge(file({ path: data, state: 'directory', mode: '0755' }))
    assert.is(cleared.plan.summary, 'mode 2775 -> 0755')
    assert.is(modeOf(data), '0755')

    const log = join(dir, 'app.log')
    await converge(file({ path: log, state: 'touch', mode: '0600' }))
    assert.is(modeOf(log), '0600')
    await converge(file({ path: log, mode: '0640' }))
    assert.is(modeOf(log), '0640')

    const link = join(dir, 'current')
    await converge(file({ path: link, state: 'link', target: data }))
    await converge(file({ path: link, state: 'link', target: log }))
    assert.is(readlinkSync(link), log)

    const removed = await converge(file({ path: join(dir, 'data'), state: 'absent' }))
    assert.is(removed.plan.summary, 'remove directory')
    assert.not.ok(existsSync(join(dir, 'data')))
  })

  s('copy and lineInFile: a file changed (or created) between plan and write is refused, not clobbered', async () => {
    const conf = join(dir, 'app.conf')
    writeFileSync(conf, 'port = 1\n')
    const edit = lineInFile({ path: conf, regexp: /^port = /, line: 'port = 2' })
    const planned = await planNow(edit)
    assert.is(planned.changed, true)
    // Someone else edits the file after berth read it.
    writeFileSync(conf, 'port = 1\nhand = edit\n')
    const refused = await applyPlan(host, edit, planned).then(() => undefined, (e: unknown) => e as Error)
    assert.ok(refused, 'the write was refused')
    assert.match(refused.message, /app\.conf changed after berth read it: not overwritten; run again/)
    assert.is(readFileSync(conf, 'utf8'), 'port = 1\nhand = edit\n', 'the hand edit is kept')
    // Planned again on what is there now, it applies.
    await converge(edit)
    assert.is(readFileSync(conf, 'utf8'), 'port = 2\nhand = edit\n')

    const fresh = join(dir, 'fresh.conf')
    const create = copy({ path: fresh, content: 'mine\n' })
    const toCreate = await planNow(create)
    writeFileSync(fresh, 'theirs\n')
    const appeared = await applyPlan(host, create, toCreate).then(() => undefined, (e: unknown) => e as Error)
    assert.match(appeared?.message ?? '', /fresh\.conf appeared after berth read it: not overwritten/)
    assert.is(readFileSync(fresh, 'utf8'), 'theirs\n')
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('.berth.')), [], 'no temp file left')
  })

  s('upload: a file from the controller, whole; the same file again is no change; a changed source replaces it; a hand-changed target is refused', async () => {
    const source = join(dir, 'installer.tgz')
    const first = randomBytes(3 * 1024 * 1024 + 17)
    writeFileSync(source, first)
    const target = join(dir, 'placed.tgz')
    const made = await converge(upload({ source, path: target, mode: '0640' }))
    assert.match(made.plan.summary ?? '', /^copy .*installer\.tgz \(3145745 bytes, sha256 /)
    assert.ok(readFileSync(target).equals(first))
    assert.is(modeOf(target), '0640')

    const second = randomBytes(1000)
    writeFileSync(source, second)
    const replaced = await converge(upload({ source, path: target, mode: '0640' }))
    assert.match(replaced.plan.summary ?? '', /^replace /)
    assert.ok(readFileSync(target).equals(second))

    // Planned, then the host's file changes under it: refused, kept.
    writeFileSync(source, first)
    const t = upload({ source, path: target, mode: '0640' })
    const planned = await planNow(t)
    writeFileSync(target, 'hand edit\n')
    const refused = await applyPlan(host, t, planned).then(() => undefined, (e: unknown) => e as Error)
    assert.match(refused?.message ?? '', /changed after berth read it/)
    assert.is(readFileSync(target, 'utf8'), 'hand edit\n')
    // Planned, then the source changes: refused, nothing copied.
    const again = await planNow(t)
    writeFileSync(source, second)
    const stale = await applyPlan(host, t, again).then(() => undefined, (e: unknown) => e as Error)
    assert.match(stale?.message ?? '', /changed on this machine after berth planned to copy it/)
    assert.is(readFileSync(target, 'utf8'), 'hand edit\n')
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('.berth')), [], 'no temp file left')
  })

  s("file: state 'file' on a missing path fails without creating it", async () => {
    const missing = join(dir, 'nope')
    try {
      await planNow(file({ path: missing }))
      assert.unreachable()
    } catch (e) {
      assert.match((e as Error).message, /never creates one/)
    }
    assert.not.ok(existsSync(missing))
  })

  asRoot('copy: content, mode and group in one write; update shows a diff; failed validation keeps the old file', async () => {
    const path = join(dir, 'app.conf')
    const first = await converge(copy({ path, content: 'a = 1\nb = 2\n', mode: '0640', group: 'adm' }))
    assert.is(first.plan.summary, `create ${path} (0640 :adm)`)
    assert.is(readFileSync(path, 'utf8'), 'a = 1\nb = 2\n')
    assert.is(modeOf(path), '0640')
    assert.is(statSync(path).gid, 4)

    // No mode or group given: the rewrite keeps the current ones.
    const update = await converge(copy({ path, content: 'a = 1\nb = 3\n' }))
    assert.is(update.plan.summary, '1 line changed')
    assert.equal(update.plan.diff, { path, before: 'a = 1\nb = 2\n', after: 'a = 1\nb = 3\n' })
    assert.is(modeOf(path), '0640')
    assert.is(statSync(path).gid, 4)

    const rejected = copy({ path, content: 'broken\n', validate: 'grep -q = %s' })
    const plan = await planNow(rejected)
    try {
      await applyPlan(host, rejected, plan)
      assert.unreachable()
    } catch (e) {
      assert.match((e as Error).message, /validation failed/)
    }
    assert.is(readFileSync(path, 'utf8'), 'a = 1\nb = 3\n')
  })

  s('copy: binary content and sensitive files', async () => {
    const bin = join(dir, 'blob')
    const bytes = Buffer.from([0, 255, 1, 254, 10, 13])
    await converge(copy({ path: bin, content: bytes }))
    assert.ok(readFileSync(bin).equals(bytes))
    const secretFile = join(dir, 'secret')
    const { plan } = await converge(copy({ path: secretFile, content: 'pw=hunter22\n', sensitive: true, mode: '0600' }))
    assert.is(plan.diff, undefined)
    assert.not.match(plan.summary ?? '', /hunter22/)
    assert.is(modeOf(secretFile), '0600')
  })

  s('template: rendered from fixtures and written', async () => {
    const path = join(dir, 'motd')
    await converge(template({ path, src: 'motd.ejs', vars: { hostname: 'db1', admins: [], raw: '&' }, templatesDir, mode: '0644' }))
    assert.is(readFileSync(path, 'utf8'), 'Welcome to db1.\nTokens & ampersands stay &.\n')
  })

  s('lineInFile: replace, insert, keep CRLF and a missing final newline', async () => {
    const path = join(dir, 'sshd_config')
    writeFileSync(path, 'Port 22\r\n#PermitRootLogin yes\r\nUsePAM yes')
    chmodSync(path, 0o600)
    await converge(lineInFile({ path, regexp: /^#?PermitRootLogin\s/, line: 'PermitRootLogin no' }))
    await converge(lineInFile({ path, line: 'MaxAuthTries 3', insertAfter: /^Port / }))
    assert.is(readFileSync(path, 'utf8'), 'Port 22\r\nMaxAuthTries 3\r\nPermitRootLogin no\r\nUsePAM yes')
    assert.is(modeOf(path), '0600')
    await converge(lineInFile({ path, regexp: /^MaxAuthTries/, state: 'absent' }))
    assert.is(readFileSync(path, 'utf8'), 'Port 22\r\nPermitRootLogin no\r\nUsePAM yes')
    await converge(lineInFile({ path: join(dir, 'new.conf'), line: 'x = 1', create: true }))
    assert.is(readFileSync(join(dir, 'new.conf'), 'utf8'), 'x = 1\n')
  })

  s('blockInFile: insert, replace, remove', async () => {
    const path = join(dir, 'hosts')
    writeFileSync(path, '127.0.0.1 localhost\n')
    await converge(blockInFile({ path, block: '10.0.0.2 db1\n10.0.0.3 db2\n' }))
    assert.is(readFileSync(path, 'utf8'), '127.0.0.1 localhost\n# BEGIN BERTH MANAGED BLOCK\n10.0.0.2 db1\n10.0.0.3 db2\n# END BERTH MANAGED BLOCK\n')
    await converge(blockInFile({ path, block: '10.0.0.4 db3' }))
    assert.is(readFileSync(path, 'utf8'), '127.0.0.1 localhost\n# BEGIN BERTH MANAGED BLOCK\n10.0.0.4 db3\n# END BERTH MANAGED BLOCK\n')
    await converge(blockInFile({ path, block: '', state: 'absent' }))
    assert.is(readFileSync(path, 'utf8'), '127.0.0.1 localhost\n')
  })

  s('command: creates and unless guards; apply returns the output', async () => {
    const marker = join(dir, 'initialized')
    const init = command(sh`echo done > ${marker} && echo ran`, { creates: marker })
    const first = await converge(init)
    assert.is(first.plan.changed, true)
    assert.equal(first.output, { stdout: 'ran\n', stderr: '', code: 0 })
    assert.is(readFileSync(marker, 'utf8'), 'done\n')
    assert.is((await planNow(init)).summary, `skipped: ${marker} exists`)

    const flag = join(dir, 'flag')
    const guarded = command(sh`touch ${flag}`, { unless: sh`test -e ${flag}` })
    await converge(guarded)
    assert.ok(existsSync(flag))
    assert.is((await planNow(command(sh`cat`, { stdin: 'x', onlyIf: 'false' }))).changed, false)
  })

  /** A read-only task (waitFor) as the runner runs it; its result. */
  const runReadOnly = (t: Task) => runTask(hostState(host), t, { check: false, ahead: [t] })

  s('waitFor: a port opened by a server here; a closed port times out', async () => {
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(() => server.close())
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const open = await runReadOnly(waitFor({ port }, { timeoutMs: 5000, intervalMs: 50 }))
    assert.is(open.status, 'ok', open.error?.message)
    assert.match(open.plan?.summary ?? '', new RegExp(`^port ${port} open after \\d+\\.\\d s$`))

    await new Promise<void>((resolve) => server.close(() => resolve()))
    assert.is((await runReadOnly(waitFor({ port, state: 'stopped' }, { timeoutMs: 5000, intervalMs: 50 }))).status, 'ok')
    const timedOut = await runReadOnly(waitFor({ port }, { timeoutMs: 150, intervalMs: 50 }))
    assert.is(timedOut.status, 'failed')
    assert.match(timedOut.error?.message ?? '', new RegExp(`${host.name}: waited 0\\.1 s, and still not: port ${port} open`))
  })

  s('waitFor: a command that succeeds once a file appears', async () => {
    const ready = join(dir, 'ready')
    setTimeout(() => writeFileSync(ready, ''), 100)
    const r = await runReadOnly(waitFor({ command: sh`test -e ${ready}` }, { timeoutMs: 5000, intervalMs: 30 }))
    assert.is(r.status, 'ok', r.error?.message)
    assert.match(r.plan?.summary ?? '', /succeeds after \d+\.\d s$/)
  })

  asRoot('user and group: created, changed, removed (a throwaway name)', async () => {
    const name = `berthtest${randomBytes(3).toString('hex')}`
    const extra = `${name}x`
    onCleanup(() => spawnSync('userdel', [name]))
    onCleanup(() => spawnSync('groupdel', [name]))
    onCleanup(() => spawnSync('groupdel', [extra]))

    await converge(group({ name, gid: 64123 }))
    await converge(group({ name: extra }))
    const created = await converge(user({ name, group: name, groups: [extra], shell: '/bin/sh', home: join(dir, 'home'), createHome: true }))
    assert.match(created.plan.summary ?? '', new RegExp(`^create user ${name} \\(group ${name}, groups ${extra}\\)$`))
    assert.is(execFileSync('id', ['-Gn', name], { encoding: 'utf8' }).trim(), `${name} ${extra}`)
    assert.ok(existsSync(join(dir, 'home')))
    assert.is(lstatSync(join(dir, 'home')).uid, Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })))

    const changed = await converge(user({ name, shell: '/bin/bash', groups: [] }))
    assert.is(changed.plan.summary, `groups -${extra}, shell /bin/sh -> /bin/bash`)
    assert.match(execFileSync('getent', ['passwd', name], { encoding: 'utf8' }), /:\/bin\/bash\n$/)

    await converge(group({ name, gid: 64124 }))
    assert.match(execFileSync('getent', ['group', name], { encoding: 'utf8' }), /:64124:/)

    await converge(user({ name, state: 'absent' }))
    await converge(group({ name, state: 'absent' }))
    await converge(group({ name: extra, state: 'absent' }))
    assert.is(spawnSync('getent', ['passwd', name]).status, 2)
  })

  asRoot('mount: a bind mount with a temp fstab, then absent', async () => {
    const src = join(dir, 'src dir')
    const target = join(dir, 'mnt')
    const fstab = join(dir, 'fstab')
    mkdirSync(src)
    writeFileSync(join(src, 'hello'), 'from src')
    writeFileSync(fstab, '# test fstab\n')
    const isMounted = () => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === target)
    onCleanup(() => {
      while (isMounted()) execFileSync('umount', [target])
    })

    const mounted = await converge(mount({ path: target, src, fstype: 'none', opts: 'bind', state: 'mounted', fstab }))
    assert.is(mounted.plan.summary, `${fstab}: 1 line changed; mount ${target}`)
    assert.ok(isMounted())
    assert.is(readFileSync(join(target, 'hello'), 'utf8'), 'from src')
    assert.is(readFileSync(fstab, 'utf8'), `# test fstab\n${src.replace(' ', '\\040')} ${target} none bind 0 0\n`)

    // Another source at the same mount point: refused, not stacked.
    const other = join(dir, 'other')
    mkdirSync(other)
    try {
      await planNow(mount({ path: target, src: other, fstype: 'none', opts: 'bind', state: 'mounted', fstab }))
      assert.unreachable()
    } catch (e) {
      assert.match((e as Error).message, /is already mounted from/)
    }

    await converge(mount({ path: target, src, fstype: 'none', opts: 'bind', state: 'unmounted', fstab }))
    assert.not.ok(isMounted())
    assert.match(readFileSync(fstab, 'utf8'), /none bind 0 0/)
    await converge(mount({ path: target, src, fstype: 'none', opts: 'bind', state: 'mounted', fstab }))
    assert.ok(isMounted())
    await converge(mount({ path: target, src, fstype: 'none', opts: 'bind', state: 'absent', fstab }))
    assert.not.ok(isMounted())
    assert.is(readFileSync(fstab, 'utf8'), '# test fstab\n')
  })

  s.run()
}
