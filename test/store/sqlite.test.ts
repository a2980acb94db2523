import path from "node:path";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { tempDir } from "../helpers/tmp.js";
import { defineStoreConformance, type OpenedStore } from "./conformance.js";

const tmp = tempDir("aitrail-store-");
let n = 0;

async function open(file: string): Promise<SqliteStore> {
  const store = new SqliteStore({ path: file });
  await store.open();
  return store;
}

defineStoreConformance({
  name: "sqlite",
  dialect: {
    shiftTimestamp: (seq) => `UPDATE audit_logs SET timestamp = strftime('%Y-%m-%dT%H:%M:%fZ', timestamp, '+1 seconds') WHERE seq = ${seq}`,
    forgeContext: (seq) => `UPDATE audit_logs SET audit_context = json_set(audit_context, '$.consentId', 'forged') WHERE seq = ${seq}`,
    randomHash: "randomblob(32)",
  },
  async fresh(): Promise<OpenedStore> {
    const file = path.join(tmp.dir, `s${n++}.db`);
    return {
      store: await open(file),
      reopen: () => open(file),
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
