/**
 * PostgreSQL ingest and queries, against the brief's pattern, in one run:
 *
 *   - aitrail: synthetic AI-call events through the real Recorder into the PostgreSQL store
 *     (validation, canonical JSON, leaf and chain hashes, Merkle nodes, COPY, one transaction
 *     per group commit under the ledger's advisory lock);
 *   - the brief: the same events, one `INSERT INTO audit_logs ... VALUES ($1..$18)` per event
 *     from `onLog`, into the brief's own table and indexes, with the same number of calls in
 *     flight (pg.Pool default size 10);
 *   - queries at 1,000,000 events (10,000,000 in the full bench): getCostByUser over 30 days
 *     and getUserActivity(user, 100).
 *
 *   npx tsx bench/postgres-ingest.ts [--url postgres://root@127.0.0.1:5432/test]
 *        [--events 100000] [--baseline 10000] [--concurrency 4096] [--baseline-concurrency 1,64]
 *        [--query-events 1000000] [--keep]
 *
 * Each part runs in a schema of its own, dropped at the end unless --keep. Prints a table and a
 * JSON line. Not part of the test suite: timings depend on the machine and its load.
 */
import os from "node:os";
import pg from "pg";
import { syntheticEvent, workload } from "../src/demo/workload.js";
import type { AuditEventInput } from "../src/event/schema.js";
import { Recorder } from "../src/pipeline/recorder.js";
import { AuditQuery } from "../src/query/audit-query.js";
import { PostgresStore } from "../src/store/postgres/store.js";
import { BRIEF_INSERT_SQL, BRIEF_PG_DDL, briefParams } from "./brief/schema.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const URL = opt("--url", process.env.AITRAIL_BENCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test");
const EVENTS = Number(opt("--events", "100000"));
const BASELINE = Number(opt("--baseline", "20000"));
const CONCURRENCY = Number(opt("--concurrency", "4096"));
/** The brief's onLog is awaited inside each AI call: 1 = one call at a time. */
const BASELINE_CONCURRENCY = opt("--baseline-concurrency", "1,64").split(",").map(Number);
const QUERY_EVENTS = Number(opt("--query-events", "1000000"));
const KEEP = args.includes("--keep");
const stamp = Date.now().toString(36);

/** Event i of a seeded run, made when it is asked for (in order), so 10,000,000 need no memory. */
function lazyEvents(n: number, seed: string, spreadDays = 0): (i: number) => AuditEventInput {
  const now = Date.now();
  const calls = workload(n, seed);
  let made = 0;
  return (i) => {
    if (i !== made) throw new Error(`events are made in order: asked for ${i}, next is ${made}`);
    const next = calls.next();
    if (next.done) throw new Error(`only ${n} events`);
    const e = syntheticEvent(next.value, 150 + next.value.outputTokens * 4);
    if (spreadDays > 0) e.timestamp = new Date(now - Math.floor(((n - i) / n) * spreadDays * 86_400_000)).toISOString();
    made += 1;
    return e;
  };
}

function events(n: number, seed: string, spreadDays = 0): AuditEventInput[] {
  const at = lazyEvents(n, seed, spreadDays);
  return Array.from({ length: n }, (_, i) => at(i));
}

async function drive(n: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await call(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function recorderIngest(
  schema: string,
  input: AuditEventInput[] | { length: number; at: (i: number) => AuditEventInput },
  progress = false,
): Promise<{ seconds: number; rate: number; store: PostgresStore }> {
  const at = Array.isArray(input) ? (i: number) => input[i]! : input.at;
  const store = new PostgresStore({ connectionString: URL, schema });
  await store.open();
  const recorder = new Recorder({ store, maxBatch: 4000, maxQueue: 40_000 });
  let done = 0;
  const seconds = await drive(input.length, CONCURRENCY, async (i) => {
    await recorder.record(at(i));
    done += 1;
    if (progress && done % 1_000_000 === 0) process.stderr.write(`  ${done} events\n`);
  });
  await recorder.close();
  return { seconds, rate: input.length / seconds, store };
}

async function briefIngest(schema: string, input: AuditEventInput[], concurrency: number): Promise<{ seconds: number; rate: number }> {
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(BRIEF_PG_DDL(schema));
  await admin.end();
  const pool = new pg.Pool({ connectionString: URL });
  // The brief's onLog, verbatim apart from the schema name.
  const onLog = async (event: AuditEventInput & { id: string; timestamp: string }) => {
    await pool.query(BRIEF_INSERT_SQL.replace("INSERT INTO audit_logs", `INSERT INTO "${schema}".audit_logs`), briefParams(event));
  };
  const seconds = await drive(input.length, concurrency, (i) => onLog({ ...input[i]!, id: `evt_${stamp}_${i}`, timestamp: new Date().toISOString() }));
  await pool.end();
  return { seconds, rate: input.length / seconds };
}

function stats(samples: number[]): { median: number; p95: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { median: at(0.5), p95: at(0.95), min: s[0]! };
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

const table: [string, string][] = [];
const json: Record<string, unknown> = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, load: os.loadavg() }, concurrency: CONCURRENCY };
const schemas: string[] = [];
try {
  // Warm up both paths a little so neither pays for first-use costs in the measurement.
  const warm = events(2000, "warm");
  const w1 = `bench_warm_a_${stamp}`;
  const w2 = `bench_warm_b_${stamp}`;
  schemas.push(w1, w2);
  await (await recorderIngest(w1, warm)).store.close();
  await briefIngest(w2, warm.slice(0, 500), 16);

  const input = events(EVENTS, "ingest");
  const ours = `bench_aitrail_${stamp}`;
  schemas.push(ours);
  process.stderr.write(`aitrail: ${EVENTS} events through the Recorder...\n`);
  const a = await recorderIngest(ours, input);
  await a.store.close();
  table.push([`aitrail Recorder -> PostgreSQL (${CONCURRENCY} in flight)`, `${Math.round(a.rate)} events/s (${EVENTS} in ${a.seconds.toFixed(2)} s)`]);
  const brief: Record<string, unknown>[] = [];
  for (const c of BASELINE_CONCURRENCY) {
    const theirs = `bench_brief_${c}_${stamp}`;
    schemas.push(theirs);
    const n = c === 1 ? Math.min(BASELINE, 5000) : BASELINE;
    process.stderr.write(`brief: ${n} events, one INSERT each from onLog, ${c} in flight...\n`);
    const b = await briefIngest(theirs, input.slice(0, n), c);
    table.push([`brief: INSERT per event from onLog (${c} in flight)`, `${Math.round(b.rate)} events/s (${n} in ${b.seconds.toFixed(2)} s); aitrail is ${(a.rate / b.rate).toFixed(1)}x`]);
    brief.push({ concurrency: c, events: n, seconds: b.seconds, eventsPerSecond: b.rate, ratio: a.rate / b.rate });
  }
  json.ingest = { aitrail: { events: EVENTS, seconds: a.seconds, eventsPerSecond: a.rate }, brief };

  if (QUERY_EVENTS > 0) {
    const q = `bench_queries_${stamp}`;
    schemas.push(q);
    process.stderr.write(`queries: loading ${QUERY_EVENTS} events over 60 days...\n`);
    const load = await recorderIngest(q, { length: QUERY_EVENTS, at: lazyEvents(QUERY_EVENTS, "queries", 60) }, true);
    table.push([`load ${QUERY_EVENTS} events (Recorder)`, `${Math.round(load.rate)} events/s`]);
    await load.store.query(`VACUUM ANALYZE {schema}.audit_logs`);
    const query = new AuditQuery(load.store);
    const cost: number[] = [];
    let users = 0;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      const rows = await query.getCostByUser(new Date(Date.now() - 30 * 86_400_000), new Date());
      cost.push(performance.now() - t);
      users = rows.length;
    }
    const activity: number[] = [];
    for (let r = 0; r < 50; r++) {
      const user = `user-${10000 + ((r * 37) % 500)}`;
      const t = performance.now();
      const rows = await query.getUserActivity(user, 100);
      activity.push(performance.now() - t);
      if (rows.length === 0) throw new Error(`no activity for ${user}`);
    }
    const c = stats(cost);
    const u = stats(activity);
    table.push([`getCostByUser, 30 days of ${QUERY_EVENTS} (${users} users)`, `median ${c.median.toFixed(0)} ms, min ${c.min.toFixed(0)} ms`]);
    table.push([`getUserActivity(user, 100) at ${QUERY_EVENTS}`, `median ${u.median.toFixed(2)} ms, p95 ${u.p95.toFixed(2)} ms`]);
    json.queries = { events: QUERY_EVENTS, load: { eventsPerSecond: load.rate }, getCostByUserMs: c, getUserActivityMs: u };
    await load.store.close();
  }
} finally {
  if (!KEEP) for (const s of schemas) await dropSchema(s).catch(() => undefined);
}

const width = Math.max(...table.map(([k]) => k.length));
process.stdout.write(table.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n");
process.stdout.write(JSON.stringify(json) + "\n");
