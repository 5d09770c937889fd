/// <reference types="zx/globals" />
// zx's globals for playbooks: `$`, `fs`, `path`, `chalk`, `sleep`, `question`,
// `spinner`, `echo`, `glob`, `which`, `YAML`, … (every name zx/globals declares),
// there without an import, as in any zx script. src/index.ts installs them, so
// every way of starting a playbook gets them (`./playbooks/x.ts`, `node --import
// tsx …`, `npx tsx …`).
//
// Installed lazily: until a playbook reads one of them, each name is a getter on
// globalThis and zx is not loaded (it costs about 60 ms of start-up, a quarter of
// the engine's load). The first read loads zx and puts its values in place, as
// zx/globals' own `Object.assign(globalThis, zx)` does; they are the very objects
// `import { $ } from 'zx'` gives. Not installed: `fetch` (zx/globals replaces
// Node's; here it stays Node's) and the untyped `Fail`, `bus`, `versions`.
//
// Engine code never uses these globals (it imports what it uses, and never
// calls `cd()`); test/integration/zx-globals.test.ts type-checks src/ and
// roles/ without them.
import { createRequire } from 'node:module'

/** The globals zx/globals declares (node_modules/zx/build/globals.d.ts); the test keeps the two lists equal. */
export const ZX_GLOBALS = [
  '$', 'ProcessOutput', 'ProcessPromise', 'VERSION', 'YAML', 'argv', 'cd', 'chalk', 'defaults', 'dotenv', 'echo',
  'expBackoff', 'fs', 'glob', 'globby', 'kill', 'log', 'minimist', 'nothrow', 'os', 'parseArgv', 'path', 'ps',
  'question', 'quiet', 'quote', 'quotePowerShell', 'resolveDefaults', 'retry', 'sleep', 'spinner', 'stdin',
  'syncProcessCwd', 'tempdir', 'tempfile', 'tmpdir', 'tmpfile', 'updateArgv', 'useBash', 'usePowerShell', 'usePwsh',
  'version', 'which', 'within',
] as const

let installed = false

/** Put zx's globals on globalThis, loading zx on the first read of any of them. Idempotent. */
export function installZxGlobals(): void {
  if (installed) return
  installed = true
  const load = (): void => {
    // zx's CommonJS build: the module instance its ESM entry re-exports, so `import { $ } from 'zx'` is the same `$`.
    const zx = createRequire(import.meta.url)('zx') as Record<string, unknown>
    for (const name of ZX_GLOBALS) define(name, zx[name])
  }
  const define = (name: string, value: unknown): void =>
    void Object.defineProperty(globalThis, name, { value, writable: true, enumerable: true, configurable: true })
  for (const name of ZX_GLOBALS)
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        load()
        return (globalThis as Record<string, unknown>)[name]
      },
      set(value: unknown) {
        define(name, value)
      },
    })
}

installZxGlobals()
