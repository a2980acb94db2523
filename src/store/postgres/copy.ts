/**
 * COPY ... FROM STDIN (text format) on a pg client, without a streams dependency: a
 * "submittable" that pg's client runs like a query. The rows are encoded here directly,
 * which is much cheaper than pg's array literal encoding, and COPY is PostgreSQL's fastest
 * way in.
 */
import type pg from "pg";

/** A value in COPY text format; null is \N. */
export type CopyValue = string | number | Uint8Array | null;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else out += ch;
  }
  return out;
}

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

/** Appends COPY text straight into a growing Buffer (no intermediate strings per row). */
class CopyWriter {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 1024));
  }
  #room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  byte(b: number): void {
    this.#room(1);
    this.buf[this.at++] = b;
  }
  value(v: CopyValue): void {
    if (v === null) {
      this.#room(2);
      this.buf[this.at++] = 0x5c;
      this.buf[this.at++] = 0x4e;
    } else if (typeof v === "number") {
      const s = String(v);
      this.#room(s.length);
      this.at += this.buf.write(s, this.at, "latin1");
    } else if (typeof v === "string") {
      const s = escapeText(v);
      this.#room(s.length * 3);
      this.at += this.buf.write(s, this.at, "utf8");
    } else {
      // bytea hex input, its backslash escaped for the COPY text format: \\x...
      this.#room(3 + v.length * 2);
      this.buf[this.at++] = 0x5c;
      this.buf[this.at++] = 0x5c;
      this.buf[this.at++] = 0x78;
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        this.buf[this.at++] = HEX_DIGITS[x >> 4]!;
        this.buf[this.at++] = HEX_DIGITS[x & 15]!;
      }
    }
  }
}

/** The COPY text-format payload for rows of values. */
export function encodeCopyRows(rows: readonly (readonly CopyValue[])[]): Buffer {
  const w = new CopyWriter(rows.length * 1200);
  for (const row of rows) {
    for (let c = 0; c < row.length; c++) {
      if (c) w.byte(0x09);
      w.value(row[c]!);
    }
    w.byte(0x0a);
  }
  return w.buf.subarray(0, w.at);
}

const CHUNK = 256 * 1024;

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/**
 * Runs `COPY <target> FROM STDIN`; resolves with the row count. The payload is a Buffer, or a
 * producer of Buffers called until it returns null: each part is sent as soon as it is made,
 * so the server inserts one part while the next is being encoded.
 */
export function copyIn(client: pg.PoolClient, sql: string, payload: Buffer | (() => Buffer | null)): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let done = false;
    let error: unknown = null;
    let rowCount = 0;
    const finish = () => {
      if (done) return;
      done = true;
      if (error) reject(error instanceof Error ? error : new Error("COPY failed"));
      else resolve(rowCount);
    };
    const submittable = {
      text: sql,
      submit(connection: CopyConnection) {
        connection.query(sql);
      },
      handleCopyInResponse(connection: CopyConnection) {
        try {
          if (typeof payload === "function") {
            for (let part = payload(); part !== null; part = payload()) connection.sendCopyFromChunk(part);
          } else {
            for (let at = 0; at < payload.length; at += CHUNK) connection.sendCopyFromChunk(payload.subarray(at, at + CHUNK));
          }
          connection.endCopyFrom();
        } catch (err) {
          error = err;
          connection.sendCopyFail("aitrail could not encode the rows");
        }
      },
      handleCommandComplete(msg: { text?: string }) {
        const m = /COPY (\d+)/.exec(msg.text ?? "");
        if (m) rowCount = Number(m[1]);
      },
      handleReadyForQuery() {
        finish();
      },
      handleError(err: unknown) {
        error ??= err;
        // A dead connection sends no ReadyForQuery; a server error does, and finishes then.
        setImmediate(finish);
      },
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    };
    (client as unknown as { query(q: unknown): unknown }).query(submittable);
  });
}

/** A producer for copyIn that encodes `count` rows `per` at a time. */
export function copyParts(count: number, per: number, row: (i: number) => readonly CopyValue[]): () => Buffer | null {
  let at = 0;
  return () => {
    if (at >= count) return null;
    const end = Math.min(count, at + per);
    const rows: (readonly CopyValue[])[] = [];
    for (; at < end; at++) rows.push(row(at));
    return encodeCopyRows(rows);
  };
}
