// The benchmark's workload: per host 30 tasks, 10 directories with owner and
// mode, 10 lines ensured in files, 10 small files with given content. The
// same work as bench/ansible/workload.yml, task for task and in the same order.
import { copy, file, lineInFile } from '../src/index.ts'
import type { Task } from '../src/index.ts'

interface Dir {
  name: string
  sub: string
  owner: string
  group: string
  mode: string
}
interface Line {
  name: string
  file: string
  key: string
  value: string
  mode: string
}
interface Content {
  name: string
  file: string
  content: string
  mode: string
}

const DIRS: Dir[] = [
  { name: 'bench root', sub: '', owner: 'root', group: 'root', mode: '0755' },
  { name: 'etc directory', sub: 'etc', owner: 'root', group: 'root', mode: '0755' },
  { name: 'files directory', sub: 'files', owner: 'root', group: 'root', mode: '0755' },
  { name: 'www directory', sub: 'www', owner: 'www-data', group: 'www-data', mode: '0750' },
  { name: 'spool directory', sub: 'spool', owner: 'daemon', group: 'daemon', mode: '0700' },
  { name: 'shared directory', sub: 'shared', owner: 'root', group: 'staff', mode: '2775' },
  { name: 'log directory', sub: 'log', owner: 'root', group: 'adm', mode: '0750' },
  { name: 'cache directory', sub: 'cache', owner: 'nobody', group: 'nogroup', mode: '0700' },
  { name: 'backup directory', sub: 'backup', owner: 'backup', group: 'backup', mode: '0750' },
  { name: 'run directory', sub: 'run', owner: 'root', group: 'root', mode: '0711' },
]

const LINES: Line[] = [
  { name: 'app listen address', file: 'etc/app.conf', key: 'listen', value: '0.0.0.0', mode: '0644' },
  { name: 'app port', file: 'etc/app.conf', key: 'port', value: '8080', mode: '0644' },
  { name: 'app workers', file: 'etc/app.conf', key: 'workers', value: '4', mode: '0644' },
  { name: 'app log level', file: 'etc/app.conf', key: 'log_level', value: 'info', mode: '0644' },
  { name: 'app timeout', file: 'etc/app.conf', key: 'timeout', value: '30', mode: '0644' },
  { name: 'db host', file: 'etc/db.conf', key: 'host', value: '10.0.0.5', mode: '0640' },
  { name: 'db port', file: 'etc/db.conf', key: 'port', value: '5432', mode: '0640' },
  { name: 'db name', file: 'etc/db.conf', key: 'name', value: 'harbor', mode: '0640' },
  { name: 'db pool size', file: 'etc/db.conf', key: 'pool', value: '20', mode: '0640' },
  { name: 'db ssl mode', file: 'etc/db.conf', key: 'sslmode', value: 'require', mode: '0640' },
]

const FILES: Content[] = [
  { name: 'motd', file: 'files/motd', content: 'Welcome to the berth bench host\n', mode: '0644' },
  { name: 'environment', file: 'files/environment', content: 'LANG=C.UTF-8\nTZ=UTC\n', mode: '0644' },
  { name: 'hosts allow', file: 'files/hosts.allow', content: 'sshd: 10.0.0.0/8\n', mode: '0644' },
  { name: 'cron entry', file: 'files/cron', content: '*/5 * * * * root /usr/bin/true\n', mode: '0644' },
  { name: 'logrotate rule', file: 'files/logrotate', content: '/srv/log/*.log {\n  weekly\n  rotate 4\n}\n', mode: '0644' },
  { name: 'sysctl settings', file: 'files/sysctl.conf', content: 'vm.swappiness = 10\nnet.core.somaxconn = 1024\n', mode: '0644' },
  { name: 'limits', file: 'files/limits.conf', content: '* soft nofile 65536\n* hard nofile 65536\n', mode: '0644' },
  { name: 'resolver options', file: 'files/resolv.opts', content: 'options timeout:1 attempts:2\n', mode: '0644' },
  { name: 'api token', file: 'files/token', content: 'not-a-real-secret\n', mode: '0600' },
  { name: 'version stamp', file: 'files/VERSION', content: '1.0.0\n', mode: '0644' },
]

/** Escape a key for use in a RegExp (keys here are plain words, but say so in code, not by luck). */
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The 30 tasks for one host, under `root`. */
export function benchTasks(root: string): Task[] {
  const at = (sub: string): string => (sub === '' ? root : `${root}/${sub}`)
  return [
    ...DIRS.map((d) => file({ path: at(d.sub), state: 'directory', owner: d.owner, group: d.group, mode: d.mode }).named(d.name)),
    ...LINES.map((l) =>
      lineInFile({ path: at(l.file), regexp: new RegExp(`^${escapeRegExp(l.key)}=`), line: `${l.key}=${l.value}`, create: true, mode: l.mode }).named(l.name),
    ),
    ...FILES.map((f) => copy({ path: at(f.file), content: f.content, mode: f.mode }).named(f.name)),
  ]
}

/** Every path the workload leaves under its root, relative ('' is the root itself). */
export function workloadPaths(): string[] {
  return [...new Set([...DIRS.map((d) => d.sub), ...LINES.map((l) => l.file), ...FILES.map((f) => f.file)])].sort()
}
