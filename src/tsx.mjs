// What a playbook's first line loads before the playbook (plain JavaScript: no
// TypeScript loader is registered yet). It is tsx's `node --import tsx`, with tsx
// resolved from this file, so `./playbooks/x.ts` runs from any directory;
// `node --import tsx` itself looks for tsx from the current directory.
import 'tsx'
