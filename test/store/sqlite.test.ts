import path from "node:path";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { tempDir } from "../helpers/tmp.js";
import { defineStoreConformance, type OpenedStore } from "./conformance.js";

async function open(file: string, appendThread: boolean): Promise<SqliteStore> {
  const store = new SqliteStore({ path: file, appendThread });
  await store.open();
  return store;
}

function sqliteConformance(appendThread: boolean): void {
  const tmp = tempDir("aitrail-store-");
  let n = 0;
  defineStoreConformance({
    name: appendThread ? "sqlite" : "sqlite (inline appends)",
    dialect: {
      shiftTimestamp: (seq) => `UPDATE audit_logs SET timestamp = strftime('%Y-%m-%dT%H:%M:%fZ', timestamp, '+1 seconds') WHERE seq = ${seq}`,
      forgeContext: (seq) => `UPDATE audit_logs SET audit_context = json_set(audit_context, '$.consentId', 'forged') WHERE seq = ${seq}`,
      randomHash: "randomblob(32)",
    },
    async fresh(): Promise<OpenedStore> {
      const file = path.join(tmp.dir, `s${n++}.db`);
      return {
        store: await open(file, appendThread),
        reopen: () => open(file, appendThread),
        tamper(statements) {
          const db = new Database(file);
          try {
            db.exec("DROP TRIGGER IF EXISTS audit_logs_append_only");
            for (const s of statements) db.exec(s);
          } finally {
            db.close();
          }
          return Promise.resolve();
        },
      };
    },
    cleanup() {
      tmp.cleanup();
      return Promise.resolve();
    },
  });
}

// The default (appends on a worker thread), and appends on the caller's thread.
sqliteConformance(true);
sqliteConformance(false);
