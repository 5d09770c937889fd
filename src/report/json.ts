import type { BerthEvent } from './events.ts'
import type { Reporter } from './reporter.ts'

/** `--json`: one JSON object per event per line, for scripts (schema in the README). */
export class JsonReporter implements Reporter {
  constructor(private write: (line: string) => void = (l) => process.stdout.write(l)) {}
  emit(event: BerthEvent): void {
    this.write(JSON.stringify(event) + '\n')
  }
}
