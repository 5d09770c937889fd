// Reading plans in unit tests: the write operation a content plan carries.
import type { Plan } from '../../src/resources/resource.ts'
import type { WriteOperation } from '../../src/operations/operation.ts'

/** The plan's (first) write operation, if it has one. */
export const writeOf = (plan: Plan): WriteOperation | undefined => plan.operations?.find((o): o is WriteOperation => o.kind === 'write')
