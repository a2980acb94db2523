/**
 * The append thread's side (see append-thread.ts): its own connection to the store's file,
 * one append transaction per message, replies in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { AitrailError, errorMessage } from "../../errors.js";
import type { StoredEntry } from "../types.js";
import { decodeBatch, type AppendReply, type AppendRequest } from "./append-thread.js";
import type { SqliteMigration } from "./migrations.js";
import { SqliteStore } from "./store.js";

const data = workerData as { path: string; migrations: SqliteMigration[]; busyTimeoutMs: number | undefined };
const port = parentPort!;
const store = new SqliteStore({ path: data.path, migrations: data.migrations, busyTimeoutMs: data.busyTimeoutMs, appendThread: false });
let opened: Promise<void> | undefined;

port.on("message", (msg: AppendRequest | { type: "close" }) => {
  if (msg.type === "close") {
    void store.close().finally(() => port.close());
    return;
  }
  void handle(msg);
});

async function handle(req: AppendRequest): Promise<void> {
  let reply: AppendReply;
  let transfer: ArrayBuffer[] = [];
  try {
    opened ??= store.open().catch((err: unknown) => {
      opened = undefined;
      throw err;
    });
    await opened;
    const entries = decodeBatch(req);
    const stored = await store.append(entries);
    const seqs = new Array<number>(stored.length);
    const buffer = new ArrayBuffer(stored.length * 32);
    const chains = new Uint8Array(buffer);
    const known: [number, StoredEntry][] = [];
    for (let i = 0; i < stored.length; i++) {
      const s = stored[i]!;
      seqs[i] = s.seq;
      chains.set(s.chainHash, i * 32);
      // A redelivered entry comes back as the store holds it.
      if (s.canonical !== entries[i]!.canonical) known.push([i, s]);
    }
    reply = { id: req.id, seqs, chains, known };
    transfer = [buffer];
  } catch (err) {
    reply = {
      id: req.id,
      error: AitrailError.isInstance(err)
        ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
        : { code: "STORE_ERROR", message: `${store.location}: append failed: ${errorMessage(err)}` },
    };
  }
  port.postMessage(reply, transfer);
}
