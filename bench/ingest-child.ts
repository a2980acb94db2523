/**
 * One ingest contender, in its own process (see run.ts):
 *
 *   aitrail-sqlite     the Recorder into the SQLite store (validate, canonical JSON, leaf and
 *                      chain hashes, Merkle nodes, group commit, fsync'd WAL)
 *   aitrail-postgres   the same into the PostgreSQL store (a schema of its own, dropped after)
 *   brief-sqlite       the brief's onLog pattern on SQLite: one INSERT, one transaction per
 *                      event, the brief's table and indexes, WAL with synchronous=FULL
 *   brief-postgres     the brief's onLog: `await pool.query(INSERT ...)` per event into its
 *                      table, pg.Pool as the brief makes it (10 connections)
 *   winston            the brief's logger: winston JSON to audit.log and error.log
 *   pino               pino to a file (asynchronous destination)
 *   blockchain         the brief's in-memory AuditBlockchain.addBlock per event
 *
 * Every contender gets the same events (the seeded demo workload); each event is handed over
 * as its caller would: C calls in flight, each waiting for its own write where the pattern
 * has one to wait for. Prints one JSON line.
 *
 *   node --import tsx bench/ingest-child.ts <contender> --events N [--concurrency C] [--dir D] [--url U] [--duration S]
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import pino from "pino";
import winston from "winston";
import { newEventId } from "../src/event/ids.js";
import type { AuditEventInput } from "../src/event/schema.js";
import { LatencyHistogram } from "../src/load/histogram.js";
import { eventPool, runLoad, type LoadResult } from "../src/load/load.js";
import { openStore } from "../src/store/open.js";
import { AuditBlockchain } from "./brief/audit-blockchain.js";
import { BRIEF_INSERT_SQL, BRIEF_PG_DDL, BRIEF_SQLITE_DDL, briefParams, type BriefEvent } from "./brief/schema.js";

export interface IngestResult {
  contender: string;
  events: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  cpuSeconds: number;
  cores: number;
  peakRssMb: number;
  durable: boolean;
  integrity: string;
  /** aitrail only: where the ledger is (the verify step reads it). */
  file?: string;
  memory?: LoadResult["memory"];
}

const [contender, ...rest] = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const EVENTS = Number(opt("--events") ?? 10_000);
const CONCURRENCY = Number(opt("--concurrency") ?? 256);
const DIR = opt("--dir") ?? fs.mkdtempSync("/tmp/aitrail-bench-");
const URL = opt("--url") ?? "postgres://root@127.0.0.1:5432/test";
const DURATION = opt("--duration");

const pool = eventPool(4096, 1);
/** The event the brief's onLog receives: the call's fields, an id and a timestamp. */
function briefEvent(i: number): BriefEvent {
  const e = pool[i % pool.length]! as AuditEventInput & Record<string, unknown>;
  return { ...(e as unknown as BriefEvent), id: newEventId(), timestamp: new Date().toISOString() };
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Drives `call` for EVENTS events with CONCURRENCY in flight; times each call. */
async function drive(concurrency: number, call: (i: number) => unknown): Promise<{ seconds: number; histogram: LatencyHistogram; cpu: NodeJS.CpuUsage }> {
  const histogram = new LatencyHistogram();
  let next = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, EVENTS) }, async () => {
      while (next < EVENTS) {
        const i = next++;
        const t = performance.now();
        const r = call(i);
        // A synchronous call's latency is the call itself; an asynchronous one's lasts until it settles.
        if (r instanceof Promise) await r;
        histogram.add(performance.now() - t);
        // Let the other callers in, as an event loop turn would.
        if (!(r instanceof Promise)) await Promise.resolve();
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, histogram, cpu: process.cpuUsage(cpu0) };
}

function result(
  name: string,
  concurrency: number,
  run: { seconds: number; histogram: LatencyHistogram; cpu: NodeJS.CpuUsage },
  durable: boolean,
  integrity: string,
  seconds = run.seconds,
  cpu = run.cpu,
): IngestResult {
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    contender: name,
    events: EVENTS,
    concurrency,
    seconds: round(seconds),
    eventsPerSecond: Math.round(EVENTS / seconds),
    latencyMs: { p50: round(run.histogram.quantile(0.5), 4), p99: round(run.histogram.quantile(0.99), 4), max: round(run.histogram.max, 4) },
    cpuSeconds: round(cpuSeconds),
    cores: round(cpuSeconds / seconds, 2),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    durable,
    integrity,
  };
}

async function aitrail(spec: string, name: string, file?: string): Promise<IngestResult> {
  const store = await openStore(spec);
  try {
    const r = await runLoad({
      store,
      events: EVENTS,
      concurrency: CONCURRENCY,
      ...(DURATION ? { durationSeconds: Number(DURATION), sampleEveryMs: 2000 } : {}),
    });
    return {
      contender: name,
      events: r.events,
      concurrency: r.concurrency,
      seconds: r.seconds,
      eventsPerSecond: r.eventsPerSecond,
      latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max },
      cpuSeconds: round(r.cpu.userSeconds + r.cpu.systemSeconds),
      cores: r.cpu.cores,
      peakRssMb: r.peakRssMb,
      durable: true,
      integrity: "hash chain + Merkle tree, verifiable",
      ...(file ? { file } : {}),
      ...(DURATION ? { memory: r.memory } : {}),
    };
  } finally {
    await store.close();
  }
}

async function briefSqlite(): Promise<IngestResult> {
  const file = path.join(DIR, "brief.db");
  for (const s of ["", "-wal", "-shm"]) fs.rmSync(file + s, { force: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(BRIEF_SQLITE_DDL);
  const insert = db.prepare(BRIEF_INSERT_SQL.replace(/\$\d+/g, "?"));
  const one = db.transaction((params: unknown[]) => insert.run(...params));
  // better-sqlite3 is synchronous: one call at a time, whatever the callers' concurrency.
  const run = await drive(1, (i) => one(briefParams(briefEvent(i)).map((v) => v ?? null)));
  db.close();
  return result("brief-sqlite", 1, run, true, "none");
}

async function briefPostgres(): Promise<IngestResult> {
  const schema = `bench_brief_${process.pid}`;
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(BRIEF_PG_DDL(schema));
  const pool = new pg.Pool({ connectionString: URL, options: `-c search_path=${schema}` });
  try {
    const run = await drive(CONCURRENCY, (i) => pool.query(BRIEF_INSERT_SQL, briefParams(briefEvent(i))));
    return result("brief-postgres", CONCURRENCY, run, true, "none");
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.end();
  }
}

async function viaWinston(): Promise<IngestResult> {
  const logger = winston.createLogger({
    level: "info",
    format: winston.format.json(),
    transports: [
      new winston.transports.File({ filename: path.join(DIR, "audit.log") }),
      new winston.transports.File({ filename: path.join(DIR, "error.log"), level: "error" }),
    ],
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  // The brief's onLog: logger.info("AI Audit Event", {...}); it returns before anything is written.
  const run = await drive(CONCURRENCY, (i) => {
    const event = briefEvent(i);
    logger.info("AI Audit Event", {
      eventId: event.id,
      timestamp: event.timestamp,
      userId: event.userId,
      action: event.action,
      provider: event.provider,
      model: event.model,
      status: event.status,
      latency: event.latency,
      cost: event.cost,
      tokens: event.tokens,
      ip: event.ip,
      userAgent: event.userAgent,
    });
  });
  // Counted until the last line has reached the file.
  await new Promise<void>((resolve) => {
    logger.on("finish", () => resolve());
    logger.end();
  });
  await new Promise((r) => setTimeout(r, 50));
  return result("winston", CONCURRENCY, run, false, "none", (performance.now() - started) / 1000, process.cpuUsage(cpu0));
}

async function viaPino(): Promise<IngestResult> {
  const dest = pino.destination({ dest: path.join(DIR, "pino.log"), sync: false, minLength: 4096 });
  await new Promise<void>((resolve) => dest.once("ready", () => resolve()));
  const logger = pino(dest);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const run = await drive(CONCURRENCY, (i) => {
    const event = briefEvent(i);
    logger.info({ ...event }, "AI Audit Event");
  });
  dest.flushSync();
  await new Promise<void>((resolve) => {
    dest.once("close", () => resolve());
    dest.end();
  });
  return result("pino", CONCURRENCY, run, false, "none", (performance.now() - started) / 1000, process.cpuUsage(cpu0));
}

async function viaBlockchain(): Promise<IngestResult> {
  const chain = new AuditBlockchain<BriefEvent>();
  const run = await drive(CONCURRENCY, (i) => chain.addBlock(briefEvent(i)));
  return result("blockchain", CONCURRENCY, run, false, "hash chain in memory (lost on exit)");
}

async function main(): Promise<IngestResult> {
  switch (contender) {
    case "aitrail-sqlite": {
      const file = path.join(DIR, "aitrail.db");
      for (const s of ["", "-wal", "-shm"]) fs.rmSync(file + s, { force: true });
      return aitrail(`sqlite:${file}`, "aitrail-sqlite", file);
    }
    case "aitrail-postgres": {
      const schema = `bench_aitrail_${process.pid}`;
      const sep = URL.includes("?") ? "&" : "?";
      try {
        return await aitrail(`${URL}${sep}schema=${schema}`, "aitrail-postgres");
      } finally {
        const admin = new pg.Client({ connectionString: URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      }
    }
    case "brief-sqlite":
      return briefSqlite();
    case "brief-postgres":
      return briefPostgres();
    case "winston":
      return viaWinston();
    case "pino":
      return viaPino();
    case "blockchain":
      return viaBlockchain();
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

process.stdout.write(`${JSON.stringify(await main())}\n`);
