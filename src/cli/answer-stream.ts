/**
 * The answer's text on stderr as it is generated (`builder run --stream`). Text is written a whole line
 * at a time, so that log lines on the same stderr never start in the middle of one. When the answer
 * restarts (its engine died mid-answer), one marker line says so: the text above it is not the answer.
 */
export class AnswerStream {
  private pending = "";

  constructor(private readonly out: Pick<NodeJS.WritableStream, "write"> = process.stderr) {}

  /** A piece of answer text. */
  chunk(text: string): void {
    this.pending += text;
    const end = this.pending.lastIndexOf("\n");
    if (end < 0) return;
    this.out.write(this.pending.slice(0, end + 1));
    this.pending = this.pending.slice(end + 1);
  }

  /** The text streamed so far is discarded and the answer starts again. */
  restart(reason: string): void {
    this.flush();
    this.out.write(`--- ${reason}; the text above is discarded, the whole answer follows ---\n`);
  }

  /** Writes the last, unfinished line. */
  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.pending !== "") this.out.write(`${this.pending}\n`);
    this.pending = "";
  }
}
