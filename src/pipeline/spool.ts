/**
 * A durable local spool: where the Recorder puts events while the store is down, so that no
 * acknowledged event is lost. One append-only file of lines
 *
 *   <16 hex digits of SHA-256(record)> <record>\n
 *
 * where a record is the event's canonical JSON (one line: canonical JSON escapes newlines).
 * `append` resolves only after fdatasync. A second file, `<path>.pos`, holds the byte offset
 * up to which records were delivered (replaced atomically); once everything is delivered the
 * spool is truncated. The spool is bounded: `append` rejects with QUEUE_FULL when it would
 * exceed `maxBytes`, and alerts fire as it fills (50%, 80%, 95% by default).
 *
 * A torn last line (a crash during a write that was never acknowledged) is cut off when the
 * spool opens; a bad line anywhere else is corruption and the spool refuses to open.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { AitrailError, errorMessage } from "../errors.js";

export interface SpoolAlert {
  kind: "spool_filling" | "spool_full" | "spool_truncated";
  message: string;
  depth: number;
  bytes: number;
  maxBytes: number;
}

export interface SpoolOptions {
  /** The spool file; `<path>.pos` is kept beside it. The directory must exist. */
  path: string;
  /** Most undelivered bytes; default 256 MiB. */
  maxBytes?: number;
  /** Fill fractions at which `spool_filling` fires (once per crossing); default [0.5, 0.8, 0.95]. */
  alertAt?: readonly number[];
  onAlert?: (alert: SpoolAlert) => void;
}

export interface SpoolBatch {
  records: string[];
  /** Pass to `commit` once these records are delivered. */
  endOffset: number;
}

const CHECK_LEN = 16;
const READ_CHUNK = 1 << 20;

function check(record: string): string {
  return createHash("sha256").update(record).digest("hex").slice(0, CHECK_LEN);
}

export class Spool {
  readonly path: string;
  readonly maxBytes: number;
  readonly #posPath: string;
  readonly #thresholds: number[];
  readonly #listeners = new Set<(alert: SpoolAlert) => void>();
  #file: fs.FileHandle | undefined;
  #size = 0;
  #pos = 0;
  #depth = 0;
  #fired = new Set<number>();
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(options: SpoolOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#posPath = `${options.path}.pos`;
    this.#thresholds = [...(options.alertAt ?? [0.5, 0.8, 0.95])].sort((a, b) => a - b);
    if (options.onAlert) this.#listeners.add(options.onAlert);
    if (!(this.maxBytes > 0)) throw new AitrailError("INVALID_CONFIG", "spool maxBytes must be > 0");
  }

  /** Opens (or creates) the spool, cutting off a torn last line. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await spool.#open();
    return spool;
  }

  /** Records appended and not yet delivered. */
  get depth(): number {
    return this.#depth;
  }

  /** Bytes appended and not yet delivered. */
  get bytes(): number {
    return this.#size - this.#pos;
  }

  onAlert(listener: (alert: SpoolAlert) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #open(): Promise<void> {
    try {
      await fs.mkdir(path.dirname(this.path), { recursive: true });
      this.#file = await fs.open(this.path, "a+");
      const stat = await this.#file.stat();
      this.#size = stat.size;
      this.#pos = await this.#readPos();
      // Everything was delivered and the spool truncated, but the position not yet reset.
      if (this.#pos > this.#size) this.#pos = 0;
      const { depth, validEnd } = await this.#scan(this.#pos);
      if (validEnd < this.#size) {
        const cut = this.#size - validEnd;
        await this.#file.truncate(validEnd);
        await this.#file.datasync();
        this.#size = validEnd;
        this.#emit("spool_truncated", `spool ${this.path}: cut a torn last line of ${cut} bytes (a write that was never acknowledged)`);
      }
      this.#depth = depth;
    } catch (err) {
      await this.#file?.close().catch(() => undefined);
      this.#file = undefined;
      throw AitrailError.isInstance(err) ? err : new AitrailError("STORE_ERROR", `cannot open spool ${this.path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #readPos(): Promise<number> {
    try {
      const text = (await fs.readFile(this.#posPath, "utf8")).trim();
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
        throw new AitrailError("STORE_CORRUPT", `spool position file ${this.#posPath} is unreadable ("${text.slice(0, 20)}")`);
      }
      return n;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
  }

  /** Counts valid lines from `from`; a bad line that is not the last is corruption. */
  async #scan(from: number): Promise<{ depth: number; validEnd: number }> {
    const file = this.#file!;
    let depth = 0;
    let offset = from;
    let lineStart = from;
    let carry = Buffer.alloc(0);
    while (offset < this.#size) {
      const want = Math.min(READ_CHUNK, this.#size - offset);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await file.read(buf, 0, want, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      let data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        if (!this.#valid(data.subarray(0, nl).toString("utf8"))) {
          if (lineStart + nl + 1 < this.#size) throw new AitrailError("STORE_CORRUPT", `spool ${this.path} is corrupt at byte ${lineStart}`);
          return { depth, validEnd: lineStart };
        }
        depth += 1;
        lineStart += nl + 1;
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
    // Bytes after the last newline are a torn write.
    return { depth, validEnd: lineStart };
  }

  #valid(line: string): boolean {
    if (line.length < CHECK_LEN + 2 || line[CHECK_LEN] !== " ") return false;
    return check(line.slice(CHECK_LEN + 1)) === line.slice(0, CHECK_LEN);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #emit(kind: SpoolAlert["kind"], message: string): void {
    const alert: SpoolAlert = { kind, message, depth: this.#depth, bytes: this.bytes, maxBytes: this.maxBytes };
    for (const l of this.#listeners) {
      try {
        l(alert);
      } catch {
        // An alert handler that throws must not stop the spool.
      }
    }
  }

  #checkFill(): void {
    const fill = this.bytes / this.maxBytes;
    for (const t of this.#thresholds) {
      if (fill >= t && !this.#fired.has(t)) {
        this.#fired.add(t);
        this.#emit("spool_filling", `spool ${this.path} is ${Math.round(fill * 100)}% full (${this.bytes} of ${this.maxBytes} bytes, ${this.#depth} events)`);
      } else if (fill < t) {
        this.#fired.delete(t);
      }
    }
  }

  /** Appends records in order; resolves once they are on disk. Rejects with QUEUE_FULL when over the bound. */
  append(records: readonly string[]): Promise<void> {
    return this.#serial(async () => {
      const file = this.#open_();
      const lines = records.map((r) => {
        if (r.includes("\n")) throw new AitrailError("INVALID_ARGUMENT", "a spool record must be one line");
        return `${check(r)} ${r}\n`;
      });
      const data = Buffer.from(lines.join(""), "utf8");
      if (this.bytes + data.length > this.maxBytes) {
        this.#emit("spool_full", `spool ${this.path} is full (${this.bytes} of ${this.maxBytes} bytes); ${records.length} event(s) could not be spooled`);
        throw new AitrailError("QUEUE_FULL", `the spool ${this.path} is full (${this.maxBytes} bytes); the events were not recorded`, {
          details: { depth: this.#depth, bytes: this.bytes, maxBytes: this.maxBytes },
        });
      }
      try {
        await file.write(data, 0, data.length, this.#size);
        await file.datasync();
      } catch (err) {
        // Whatever part was written is a torn tail: cut it so the next append starts clean.
        await file.truncate(this.#size).catch(() => undefined);
        throw new AitrailError("STORE_ERROR", `cannot write spool ${this.path}: ${errorMessage(err)}`, { cause: err });
      }
      this.#size += data.length;
      this.#depth += records.length;
      this.#checkFill();
    });
  }

  /** The next records not yet delivered, oldest first (at most `max`). */
  peek(max: number): Promise<SpoolBatch> {
    return this.#serial(async () => {
      const file = this.#open_();
      const records: string[] = [];
      let offset = this.#pos;
      let carry = Buffer.alloc(0);
      let consumed = this.#pos;
      while (records.length < max && offset < this.#size) {
        const want = Math.min(READ_CHUNK, this.#size - offset);
        const buf = Buffer.alloc(want);
        const { bytesRead } = await file.read(buf, 0, want, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        let data = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
        let nl = data.indexOf(0x0a);
        while (nl >= 0 && records.length < max) {
          const line = data.subarray(0, nl).toString("utf8");
          if (!this.#valid(line)) throw new AitrailError("STORE_CORRUPT", `spool ${this.path} is corrupt at byte ${consumed}`);
          records.push(line.slice(CHECK_LEN + 1));
          consumed += nl + 1;
          data = data.subarray(nl + 1);
          nl = data.indexOf(0x0a);
        }
        carry = data;
      }
      return { records, endOffset: consumed };
    });
  }

  /** Marks everything before `endOffset` delivered; truncates the spool when it is empty. */
  commit(endOffset: number): Promise<void> {
    return this.#serial(async () => {
      const file = this.#open_();
      if (endOffset < this.#pos || endOffset > this.#size) {
        throw new AitrailError("INVALID_ARGUMENT", `spool commit offset ${endOffset} is outside ${this.#pos}..${this.#size}`);
      }
      const delivered = await this.#countLines(this.#pos, endOffset);
      if (endOffset === this.#size) {
        await file.truncate(0);
        await file.datasync();
        this.#size = 0;
        await this.#writePos(0);
        this.#pos = 0;
      } else {
        await this.#writePos(endOffset);
        this.#pos = endOffset;
      }
      this.#depth -= delivered;
      this.#checkFill();
    });
  }

  async #countLines(from: number, to: number): Promise<number> {
    let n = 0;
    const file = this.#open_();
    for (let offset = from; offset < to; ) {
      const want = Math.min(READ_CHUNK, to - offset);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await file.read(buf, 0, want, offset);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) if (buf[i] === 0x0a) n += 1;
      offset += bytesRead;
    }
    return n;
  }

  async #writePos(pos: number): Promise<void> {
    const tmp = `${this.#posPath}.tmp`;
    const fh = await fs.open(tmp, "w");
    try {
      await fh.writeFile(String(pos));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, this.#posPath);
    const dir = await fs.open(path.dirname(this.#posPath), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  #open_(): fs.FileHandle {
    if (!this.#file) throw new AitrailError("STORE_ERROR", `spool ${this.path} is closed`);
    return this.#file;
  }

  async close(): Promise<void> {
    await this.#chain.catch(() => undefined);
    const f = this.#file;
    this.#file = undefined;
    await f?.close();
  }
}
