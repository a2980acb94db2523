import { afterAll, expect, it } from "vitest";
import { AitrailError } from "../../src/errors.js";
import { toHex } from "../../src/ledger/hash.js";
import { openStore } from "../../src/store/open.js";
import { PostgresSubjectKeyStore } from "../../src/privacy/keyring/postgres.js";
import { subjectKeyStoreFor } from "../../src/privacy/open.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { defineStoreConformance, type OpenedStore } from "./conformance.js";
import { evtId, plainEvents, prepare } from "./fixtures.js";
import { describePg, dropSchemas, newSchema, PG_URL, sqlIn, urlFor } from "./pg.js";

async function open(schema: string): Promise<PostgresStore> {
  const store = new PostgresStore({ connectionString: urlFor(schema) });
  await store.open();
  return store;
}

describePg("postgres store", () => {
  defineStoreConformance({
    name: "postgres",
    dialect: {
      shiftTimestamp: (seq) => `UPDATE audit_logs SET timestamp = timestamp + interval '1 second' WHERE seq = ${seq}`,
      forgeContext: (seq) => `UPDATE audit_logs SET audit_context = jsonb_set(audit_context, '{consentId}', '"forged"') WHERE seq = ${seq}`,
      randomHash: "decode(md5(random()::text) || md5(random()::text), 'hex')",
    },
    async fresh(): Promise<OpenedStore> {
      const schema = newSchema("conf");
      return {
        store: await open(schema),
        reopen: () => open(schema),
        tamper: async (statements) => {
          await sqlIn(schema, statements);
        },
      };
    },
    cleanup: dropSchemas,
  });
});

describePg("postgres store: bad input, schema ownership, partitions", () => {
  afterAll(dropSchemas);

  const relations = async (schema: string) =>
    (await sqlIn(schema, [`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' ORDER BY 1`]))[0]!.rows.map(
      (r) => r.relname as string,
    );

  it("a wrong connection string is STORE_ERROR without the password, and writes nothing", async () => {
    for (const url of [
      "postgres://root:s3cret-pw@127.0.0.1:1/test",
      "postgres://root:s3cret-pw@127.0.0.1:5432/no_such_database_here",
      "postgres://root:s3cret-pw@127.0.0.1:notaport/test",
    ]) {
      const err = (await openStore(url).catch((e: unknown) => e)) as AitrailError;
      expect(AitrailError.isInstance(err), url).toBe(true);
      expect(err.code, url).toBe("STORE_ERROR");
      expect(err.message).not.toContain("s3cret-pw");
      expect(JSON.stringify(err.details)).not.toContain("s3cret-pw");
      expect(err.message).toContain("root:***@");
    }
    await expect(openStore(`${PG_URL}?schema=Bad-Name`)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("opens through openStore with ?schema= and never shows a password in its location", async () => {
    const schema = newSchema("open");
    const store = await openStore(`postgres://root:pw@${PG_URL.slice("postgres://root@".length)}?schema=${schema}`);
    expect(store.kind).toBe("postgres");
    expect(store.location).toContain(`schema ${schema}`);
    expect(store.location).not.toContain(":pw@");
    await store.close();
    expect(await relations(schema)).toEqual(expect.arrayContaining(["aitrail_meta", "audit_logs", "event_ids", "merkle_nodes", "checkpoints"]));
  });

  it("refuses a schema that holds someone else's tables (FOREIGN_SCHEMA) and touches nothing", async () => {
    const schema = newSchema("foreign");
    await sqlIn("public", [`CREATE SCHEMA "${schema}"`, `CREATE TABLE "${schema}".customers (id int)`]);
    await expect(open(schema)).rejects.toMatchObject({ code: "FOREIGN_SCHEMA" });
    expect(await relations(schema)).toEqual(["customers"]);
    // An aitrail_meta table that aitrail did not write is foreign too.
    const other = newSchema("foreign");
    await sqlIn("public", [`CREATE SCHEMA "${other}"`, `CREATE TABLE "${other}".aitrail_meta (key text primary key, value text)`]);
    await expect(open(other)).rejects.toMatchObject({ code: "FOREIGN_SCHEMA" });
    expect(await relations(other)).toEqual(["aitrail_meta", "aitrail_meta_pkey"]);
  });

  it("refuses a ledger whose schema is newer than this code (SCHEMA_TOO_NEW) and touches nothing", async () => {
    const schema = newSchema("new");
    const store = await open(schema);
    await store.append(plainEvents(3));
    await store.close();
    await sqlIn(schema, ["UPDATE aitrail_meta SET value = '99' WHERE key = 'schema_version'"]);
    const before = await relations(schema);
    const err = (await open(schema).catch((e: unknown) => e)) as AitrailError;
    expect(err).toMatchObject({ code: "SCHEMA_TOO_NEW" });
    expect(err.message).toContain("99");
    expect(await relations(schema)).toEqual(before);
    expect((await sqlIn(schema, ["SELECT count(*)::int AS n FROM audit_logs"]))[0]!.rows[0]).toEqual({ n: 3 });
  });

  it("with mustExist, a missing ledger is NOT_FOUND and nothing is created", async () => {
    const schema = newSchema("missing");
    await expect(openStore(urlFor(schema), { mustExist: true })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await relations(schema)).toEqual([]);
  });

  it("keeps the privacy subject key table in the ledger's schema and hands its pool to the key store", async () => {
    const schema = newSchema("keys");
    const store = await open(schema);
    expect(await relations(schema)).toContain("subject_keys");
    const keyStore = subjectKeyStoreFor(store);
    expect(keyStore).toBeInstanceOf(PostgresSubjectKeyStore);
    expect((await store.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".subject_keys`)).rows[0]).toEqual({ n: 0 });
    await store.close();
  });

  it("is append-only: an UPDATE through SQL fails while the trigger is on", async () => {
    const schema = newSchema("ro");
    const store = await open(schema);
    await store.append(plainEvents(2));
    await store.close();
    await expect(sqlIn(schema, ["UPDATE audit_logs SET user_id = 'x' WHERE seq = 0"], { triggers: true })).rejects.toThrow(/append-only/);
  });

  it("puts rows in monthly partitions and a purge drops whole months", async () => {
    const schema = newSchema("part");
    const store = await open(schema);
    const jan = plainEvents(10, 11, Date.parse("2025-01-20T00:00:00.000Z"));
    const feb = plainEvents(10, 12, Date.parse("2025-02-20T00:00:00.000Z"));
    const mar = plainEvents(10, 13, Date.parse("2025-03-20T00:00:00.000Z"));
    const stored = [...(await store.append(jan)), ...(await store.append(feb)), ...(await store.append(mar))];
    const count = async (t: string) => (await sqlIn(schema, [`SELECT count(*)::int AS n FROM ${t}`]))[0]!.rows[0]!.n as number;
    expect([await count("audit_logs_p202501"), await count("audit_logs_p202502"), await count("audit_logs_p202503")]).toEqual([10, 10, 10]);
    await store.append([prepare({ type: "retention.purged", eventId: evtId(1, 14), timestamp: "2025-03-25T00:00:00.000Z", details: { anchor: { seq: 15, chainHash: toHex(stored[14]!.chainHash) } } })]);
    expect(await store.purgePrefix({ seq: 15, chainHash: stored[14]!.chainHash })).toEqual({ deleted: 15 });
    const rel = await relations(schema);
    expect(rel).not.toContain("audit_logs_p202501");
    expect(await count("audit_logs_p202502")).toBe(5);
    expect(await verifyStore(store)).toMatchObject({ ok: true, fromSeq: 15, events: 16 });
    // A late event for the dropped month recreates it.
    await store.append(plainEvents(1, 15, Date.parse("2025-01-31T00:00:00.000Z")));
    expect(await count("audit_logs_p202501")).toBe(1);
    await store.close();
  });
});
