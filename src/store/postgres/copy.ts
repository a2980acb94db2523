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

function field(v: CopyValue): string {
  if (v === null) return "\\N";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return escapeText(v);
  // bytea hex input, its backslash escaped for the COPY text format
  return "\\\\x" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
}

/** The COPY text-format payload for rows of values. */
export function encodeCopyRows(rows: readonly (readonly CopyValue[])[]): Buffer {
  const lines: string[] = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    let line = "";
    for (let c = 0; c < row.length; c++) line += (c ? "\t" : "") + field(row[c]!);
    lines[r] = line;
  }
  return Buffer.from(lines.join("\n") + "\n", "utf8");
}

const CHUNK = 256 * 1024;

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** Runs `COPY <target> FROM STDIN` with the given payload; resolves with the row count. */
export function copyIn(client: pg.PoolClient, sql: string, payload: Buffer): Promise<number> {
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
        for (let at = 0; at < payload.length; at += CHUNK) connection.sendCopyFromChunk(payload.subarray(at, at + CHUNK));
        connection.endCopyFrom();
      },
      handleCommandComplete(msg: { text?: string }) {
        const m = /COPY (\d+)/.exec(msg.text ?? "");
        if (m) rowCount = Number(m[1]);
      },
      handleReadyForQuery() {
        finish();
      },
      handleError(err: unknown) {
        error = err;
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
