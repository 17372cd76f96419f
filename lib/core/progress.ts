/**
 * Progress on long work: a redrawn line on a terminal, a plain line every few seconds in logs.
 *
 * @module
 */

/** Counts shown by {@link Progress}. */
export interface ProgressState {
  done: number;
  total: number;
  errors: number;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** What is counted, e.g. `images`. */
  unit?: string;
  /** Where to write; default stderr. */
  writer?: { writeSync(p: Uint8Array): number; isTerminal?(): boolean };
  /** Seconds between lines when not on a terminal. Default 5. */
  logEverySeconds?: number;
  /** Write nothing. */
  quiet?: boolean;
}

/**
 * Reports progress with rate and time left.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress(10, { quiet: true });
 * p.update({ done: 5, total: 10, errors: 0 });
 * console.log(p.line()); // e.g. "5/10 images (50%) …"
 * ```
 */
export class Progress {
  #start = performance.now();
  #lastLog = 0;
  #state: ProgressState;
  #tty: boolean;
  #writer: NonNullable<ProgressOptions["writer"]>;
  #enc = new TextEncoder();

  constructor(total: number, readonly options: ProgressOptions = {}) {
    this.#state = { done: 0, total, errors: 0 };
    this.#writer = options.writer ?? Deno.stderr;
    this.#tty = this.#writer.isTerminal?.() ?? false;
  }

  /** The status line for the current state. */
  line(): string {
    const { done, total, errors } = this.#state;
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const left = rate > 0 ? Math.round((total - done) / rate) : NaN;
    const pct = total ? Math.floor(100 * done / total) : 100;
    return `${done}/${total} ${this.options.unit ?? "images"} (${pct}%), ${rate.toFixed(1)}/s` +
      (Number.isFinite(left) && done < total ? `, ${left}s left` : "") +
      (errors ? `, ${errors} error${errors > 1 ? "s" : ""}` : "");
  }

  /** Records new counts and redraws when due. */
  update(state: ProgressState): void {
    this.#state = state;
    if (this.options.quiet) return;
    const now = performance.now();
    if (this.#tty) {
      if (now - this.#lastLog < 100 && state.done < state.total) return;
      this.#write(`\r\x1b[2K${this.line()}`);
    } else {
      if (now - this.#lastLog < (this.options.logEverySeconds ?? 5) * 1000) return;
      this.#write(this.line() + "\n");
    }
    this.#lastLog = now;
  }

  /** Ends the progress display with a final line. */
  finish(): void {
    if (this.options.quiet) return;
    this.#write(`${this.#tty ? "\r\x1b[2K" : ""}${this.line()}\n`);
  }

  #write(s: string) {
    this.#writer.writeSync(this.#enc.encode(s));
  }
}
