import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/ledger/hash.js";
import { MemoryTree } from "../../src/ledger/memory-tree.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { tempDir } from "../helpers/tmp.js";
import { defineStoreConformance, type OpenedStore } from "./conformance.js";
import { plainEvents } from "./fixtures.js";

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

describe("sqlite: schema migrations", () => {
  const tmp = tempDir("aitrail-migrate-");
  afterAll(() => tmp.cleanup());

  it("moves a schema-3 ledger to the block indexes: same answers, and it still verifies", async () => {
    const file = path.join(tmp.dir, "v3.db");
    const events = plainEvents(300);
    let store = await open(file, false);
    await store.append(events);
    await store.close();
    // Put the file back as schema 3 left it: the per-user, per-patient and per-type indexes,
    // and every Merkle level stored.
    const db = new Database(file);
    db.exec(`
      DROP INDEX idx_audit_user_block; DROP INDEX idx_audit_patient_block;
      DROP INDEX idx_audit_trail_user; DROP INDEX idx_audit_trail_type;
      CREATE INDEX idx_audit_user ON audit_logs(user_id, seq);
      CREATE INDEX idx_audit_type ON audit_logs(type);
      CREATE INDEX idx_audit_patient ON audit_logs(patient_id) WHERE patient_id IS NOT NULL;
      INSERT INTO merkle_nodes(level, idx, hash) VALUES (1, 0, randomblob(32)), (2, 0, randomblob(32)), (3, 0, randomblob(32));
      UPDATE aitrail_meta SET value = '3' WHERE key = 'schema_version';
    `);
    db.close();

    store = await open(file, true);
    const indexes = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_logs' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
    expect(indexes).toEqual(["idx_audit_patient_block", "idx_audit_timestamp", "idx_audit_trail_type", "idx_audit_trail_user", "idx_audit_user_block"]);
    expect(await store.getMeta("schema_version")).toBe("4");
    // Levels 1 to 3 are computed from leaf hashes now: their rows are gone, their hashes are not.
    expect(store.db.prepare("SELECT COUNT(*) AS n FROM merkle_nodes WHERE level BETWEEN 1 AND 3").get()).toEqual({ n: 0 });
    const tree = new MemoryTree();
    tree.append(events.map((e) => e.leafHash));
    const keys = [1, 2, 3, 4, 5].flatMap((level) => Array.from({ length: Math.floor(300 / 2 ** level) }, (_, index) => ({ level, index })));
    expect((await store.getNodes(keys)).map(toHex)).toEqual((await tree.getNodes(keys)).map(toHex));
    const user = events[10]!.event.userId!;
    const want = events.flatMap((e, i) => (e.event.userId === user ? [i] : [])).reverse();
    expect((await store.findEvents({ userId: user, limit: 1000 })).map((e) => e.seq)).toEqual(want);
    await store.append(plainEvents(5, 4));
    expect(await verifyStore(store)).toMatchObject({ ok: true, events: 305 });
    await store.close();
  });
});
