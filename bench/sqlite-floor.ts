/**
 * The SQLite floor: what the append transaction alone costs per event on this machine, with
 * nothing else of the pipeline. Each batch is prepared (validated, canonical, leaf hashed)
 * outside the clock, just before it is appended, so memory stays small as in a real run; the
 * timed part is exactly the store's append (head read, sealing, inserts into the real aitrail
 * schema, fsync'd WAL commit) on one thread, at several batch sizes.
 * The inverse of the time per event is the most any pipeline can ingest with one writer.
 *
 *   npx tsx bench/sqlite-floor.ts [--events 1000000] [--batches 500,1000,2000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { canonicalize } from "../src/event/canonical.js";
import { fieldSelection, minimize } from "../src/event/levels.js";
import { parseEventInput } from "../src/event/schema.js";
import { leafHash } from "../src/ledger/hash.js";
import { eventPool } from "../src/load/load.js";
import { columnsOf } from "../src/store/columns.js";
import { SqliteStore } from "../src/store/sqlite/store.js";
import type { PreparedEntry } from "../src/store/types.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const EVENTS = Number(opt("--events", "200000"));
const BATCHES = opt("--batches", "500,1000,2000").split(",").map(Number);

const selection = fieldSelection("standard");
const pool = eventPool(4096, 1);
function prepareBatch(from: number, count: number): PreparedEntry[] {
  const out: PreparedEntry[] = [];
  for (let i = from; i < from + count; i++) {
    const event = minimize(parseEventInput(pool[i % pool.length]!), selection);
    const canonical = canonicalize(event);
    out.push({ eventId: event.eventId, canonical, leafHash: leafHash(canonical), columns: columnsOf(event) });
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aitrail-floor-"));
const results: { batch: number; events: number; seconds: number; usPerEvent: number; eventsPerSecond: number }[] = [];
try {
  for (const batch of BATCHES) {
    const store = new SqliteStore({ path: path.join(dir, `floor-${batch}.db`), appendThread: false });
    await store.open();
    let ms = 0;
    for (let i = 0; i < EVENTS; i += batch) {
      const entries = prepareBatch(i, Math.min(batch, EVENTS - i));
      const t0 = performance.now();
      await store.append(entries);
      ms += performance.now() - t0;
    }
    const seconds = ms / 1000;
    await store.close();
    results.push({ batch, events: EVENTS, seconds: Math.round(seconds * 1000) / 1000, usPerEvent: Math.round((seconds * 1e7) / EVENTS) / 10, eventsPerSecond: Math.round(EVENTS / seconds) });
    process.stderr.write(`batch ${batch}: ${results.at(-1)!.usPerEvent} µs per event, ${results.at(-1)!.eventsPerSecond} events/s\n`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ bench: "sqlite-floor", events: EVENTS, results })}\n`);
