/**
 * A status line on stderr: rewritten in place at a terminal, one line per update otherwise (CI
 * logs, the smoke test), so stdout stays the clean report.
 */
export class ProgressLine {
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(text: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      this.shown = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** A line that stays. */
  note(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
