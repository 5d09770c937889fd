// Reading plans in unit tests: the write operation a content plan carries, and
// a plan's operations as table lines.
import type { Plan } from '../../src/resources/resource.ts'
import type { Operation, WriteOperation } from '../../src/operations/operation.ts'
import { writeFileCommand } from '../../src/host.ts'

/** The plan's (first) write operation, if it has one. */
export const writeOf = (plan: Plan): WriteOperation | undefined => plan.operations?.find((o): o is WriteOperation => o.kind === 'write')

/**
 * A plan's operations as the lines a resource's table compares (facts in,
 * operations out; pure, no executor or host): a command's text, a write as
 * the command that places it (writeFileCommand, what the executor sends), a
 * wait and a guard by their shell.
 */
export function operationsOf(plan: Plan): string[] {
  const lines = (op: Operation): string[] => {
    switch (op.kind) {
      case 'run':
        return [op.command.text]
      case 'write': {
        const { kind: _, path, content: _content, ...options } = op
        return [writeFileCommand(path, options).text]
      }
      case 'upload':
        return [`upload ${op.source} (sha256 ${op.sha256}) to ${op.path}`]
      case 'wait':
        return [`wait until ${op.what}: ${op.probe.text}`]
      case 'guard':
        return [`if ${op.test.text}`, ...op.then.flatMap(lines), 'fi']
    }
  }
  return (plan.operations ?? []).flatMap(lines)
}
