// A stamp: a one-line file harbor-node writes after a step, saying what the
// step was done for (an installer's sha256, the harbor.yml prepare ran on, the
// generated files Harbor started from). Read as a fact; '' when absent.
import { fact, sh } from '../../src/index.ts'

export const stampFact = (path: string) => fact(`stamp:${path}`, sh`cat ${path} 2>/dev/null || true`, (o) => o.stdout.trim())
