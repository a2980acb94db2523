import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Keyring, LocalKeyProvider, PostgresSubjectKeyStore, Protector, eraseSubject } from "../../src/privacy/index.js";
import { parseEventInput } from "../../src/event/schema.js";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { PG_URL, describePg, dropSchemas, newSchema } from "../store/pg.js";

describePg("subject keys in PostgreSQL", () => {
  let pool: pg.Pool;
  let schema: string;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    schema = newSchema("keys");
    await pool.query(`CREATE SCHEMA "${schema}"`);
    // The table as the PostgreSQL store's migrations create it.
    const table = POSTGRES_MIGRATIONS.find((m) => m.name === "subject_keys")!;
    await pool.query(table.sql.replaceAll("{schema}", `"${schema}"`));
  });
  afterAll(async () => {
    await pool.end();
    await dropSchemas();
  });

  it("keys, pseudonyms, erasure and rotation work the same as on SQLite", async () => {
    const store = new PostgresSubjectKeyStore(pool, schema);
    const provider = new LocalKeyProvider(randomBytes(32));
    const keyring = await Keyring.open({ provider, store });
    const protector = new Protector({ keyring, redactor: null });
    const keys = await Promise.all(Array.from({ length: 10 }, () => keyring.obtain("user", "user-12345")));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);

    const stored = await protector.protect(parseEventInput({ type: "ai.generate", userId: "user-12345", ip: "203.0.113.9" }));
    expect((await protector.reveal(stored)).userId).toBe("user-12345");
    const dump = JSON.stringify((await pool.query(`SELECT * FROM "${schema}".subject_keys`)).rows);
    expect(dump).not.toContain("user-12345");

    const next = new LocalKeyProvider(randomBytes(32));
    expect(await keyring.rotate(next)).toMatchObject({ rewrapped: 2, unchanged: 0 });
    await expect(Keyring.open({ provider, store })).rejects.toMatchObject({ code: "WRONG_MASTER_KEY" });
    const rotated = await Keyring.open({ provider: next, store });
    const p2 = new Protector({ keyring: rotated, redactor: null });
    expect((await p2.reveal(stored)).ip).toBe("203.0.113.9");

    const result = await eraseSubject(rotated, { subject: "user-12345" });
    expect(result.status).toBe("erased");
    expect((await p2.reveal(stored)).userId).toBe("[erased]");
    expect(await p2.pseudonymFor("user", "user-12345")).toBeNull();
    expect((await store.list()).map((e) => e.wrapped.kind)).toEqual(["index"]);
    expect((await eraseSubject(rotated, { subject: "user-12345" })).status).toBe("unknown_subject");
  });
});
