/**
 * A writer process for the crash test: records synthetic AI-call events into a SQLite ledger
 * as fast as it can, C at a time, and writes one line per acknowledged event to stdout:
 * `ack <eventId> <seq>`. The line is written (synchronously, straight to the pipe) only
 * after record() resolved, i.e. after the event was durably committed.
 *
 *   node --import tsx test/durability/writer.ts <db file> [concurrency]
 */
import fs from "node:fs";
import { Recorder } from "../../src/pipeline/recorder.js";
import { eventPool } from "../../src/load/load.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";

const [file, concurrencyArg] = process.argv.slice(2);
if (!file) throw new Error("usage: writer.ts <db file> [concurrency]");
const concurrency = Number(concurrencyArg ?? 64);

const store = new SqliteStore({ path: file });
await store.open();
const recorder = new Recorder({ store, maxBatch: 256 });
const pool = eventPool(512, process.pid);
let i = 0;
fs.writeSync(1, "ready\n");
const worker = async (): Promise<void> => {
  for (;;) {
    const r = await recorder.record(pool[i++ % pool.length]!);
    fs.writeSync(1, `ack ${r.eventId} ${r.seq}\n`);
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
