/**
 * The real PostgreSQL server for store tests (127.0.0.1:5432, trust auth; override with
 * AITRAIL_TEST_PG_URL). Unreachable: tests skip with the reason, except in CI (CI=true) where
 * they fail, so a CI run never passes without PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, it } from "vitest";

export const PG_URL = process.env.AITRAIL_TEST_PG_URL ?? "postgres://root@127.0.0.1:5432/test";

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
let warned = false;

/** Skips (or in CI fails) a whole suite when PostgreSQL is not there. */
export function describePg(name: string, body: () => void): void {
  if (unreachable === null) {
    describe(name, body);
    return;
  }
  const reason = `PostgreSQL at ${PG_URL.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@")} is unreachable (${unreachable})`;
  if (process.env.CI === "true") {
    describe(name, () => {
      it("needs PostgreSQL in CI", () => {
        throw new Error(`${reason}; CI must run the PostgreSQL tests`);
      });
    });
    return;
  }
  if (!warned) console.warn(`skipping the PostgreSQL tests: ${reason}`);
  warned = true;
  describe.skip(`${name} (skipped: ${reason})`, body);
}

/** A fresh schema name; dropSchemas removes every one handed out. */
const made = new Set<string>();
export function newSchema(prefix = "t"): string {
  const s = `${prefix}_${randomBytes(6).toString("hex")}`;
  made.add(s);
  return s;
}

export function urlFor(schema: string): string {
  return `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}schema=${schema}`;
}

/** Runs statements on one connection with search_path set to the schema and triggers off. */
export async function sqlIn(schema: string, statements: string[], { triggers = false } = {}): Promise<pg.QueryResult[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    if (!triggers) await client.query("SET session_replication_role = replica");
    const out: pg.QueryResult[] = [];
    for (const s of statements) out.push(await client.query(s));
    return out;
  } finally {
    await client.end();
  }
}

export async function dropSchemas(): Promise<void> {
  if (unreachable !== null || made.size === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const s of made) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    made.clear();
  } finally {
    await client.end();
  }
}
