// A role's option checks take a `fail(option, problem)` that throws; tests want
// the message it would give, or undefined when every check passes.
export function optionFailure(run: (fail: (option: string, problem: string) => never) => void): string | undefined {
  try {
    run((option, problem) => {
      throw new Error(`option '${option}' ${problem}`)
    })
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}
