/**
 * What every command gets: where to write, how to report progress, how to end.
 * Commands never call process.exit; they set the exit code here, so the CLI runs in-process
 * in tests exactly as it runs from the shell.
 */
import { AitrailError } from "../errors.js";
import { openStore } from "../store/open.js";
import type { AuditStore } from "../store/types.js";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress bars redraw in place. */
  interactive: boolean;
}

export const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive: Boolean(process.stderr.isTTY),
};

export interface CliContext {
  io: CliIO;
  exitCode: number;
}

/** `--store <url>` wins over `--db <file>`; `--db` is the SQLite shorthand. */
export interface StoreOptions {
  db?: string;
  store?: string;
}

export function storeSpec(opts: StoreOptions, fallback = "aitrail.db"): string {
  if (opts.store) return opts.store;
  return `sqlite:${opts.db ?? fallback}`;
}

export async function withStore<T>(opts: StoreOptions, mustExist: boolean, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await openStore(storeSpec(opts), { mustExist });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function parsePositiveInt(name: string, value: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new AitrailError("INVALID_ARGUMENT", `${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** A progress bar on a terminal; a line every 25% otherwise (logs stay readable). */
export class Progress {
  readonly #io: CliIO;
  readonly #label: string;
  readonly #total: number;
  #lastQuarter = -1;
  #lastDraw = 0;
  readonly #start = Date.now();

  constructor(io: CliIO, label: string, total: number) {
    this.#io = io;
    this.#label = label;
    this.#total = Math.max(1, total);
  }

  update(done: number): void {
    const frac = Math.min(1, done / this.#total);
    if (this.#io.interactive) {
      const now = Date.now();
      if (now - this.#lastDraw < 100 && done < this.#total) return;
      this.#lastDraw = now;
      const width = 30;
      const filled = Math.round(frac * width);
      const rate = done / Math.max(0.001, (now - this.#start) / 1000);
      this.#io.err(`\r${this.#label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${this.#total} ${Math.round(rate)}/s`);
    } else {
      const quarter = Math.floor(frac * 4);
      if (quarter > this.#lastQuarter && quarter < 4) {
        this.#lastQuarter = quarter;
        this.#io.err(`${this.#label}: ${done}/${this.#total}\n`);
      }
    }
  }

  done(): void {
    if (this.#io.interactive) this.#io.err("\n");
  }
}
