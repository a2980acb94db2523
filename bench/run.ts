/**
 * `npm run bench`: aitrail against the brief's own patterns, on this machine, in one run.
 *
 *   npm run bench                      quick mode (a few minutes at most)
 *   npm run bench -- --full            the large sizes (1M-event ledger, 10-minute memory run)
 *   npm run bench -- --only ingest,verify,memory,extras
 *   npm run bench -- --pg postgres://user@host:5432/db   (default $AITRAIL_BENCH_PG_URL or
 *                                       postgres://root@127.0.0.1:5432/test; skipped if unreachable)
 *   npm run bench -- --publish         also writes the chart to docs/bench.svg
 *
 * Every contender runs in a process of its own, one after the other, with the same seeded
 * events. Prints a table; writes bench/results/bench-<time>.json and .svg (and latest.*).
 * Figures are reported as measured and as ratios to the baselines of the same run, never as
 * pass/fail: the machine may be shared, and only same-run ratios compare.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { chart, type Panel } from "./lib/chart.js";
import { BENCH_DIR, ROOT, runChild, type ChildResult } from "./lib/child.js";
import { machine } from "./lib/machine.js";
import type { IngestResult } from "./ingest-child.js";
import type { VerifyResult } from "./verify-child.js";

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const FULL = args.includes("--full");
const PUBLISH = args.includes("--publish");
const ONLY = new Set((opt("--only") ?? "ingest,verify,memory,extras").split(","));
const PG_URL = opt("--pg") ?? process.env.AITRAIL_BENCH_PG_URL ?? "postgres://root@127.0.0.1:5432/test";
const CONCURRENCY = Number(opt("--concurrency") ?? 1024);

const SIZES = FULL
  ? { aitrail: 1_000_000, aitrailPg: 200_000, logger: 200_000, baseline: 20_000, memorySeconds: 600, proofs: 1_000_000, queries: 10_000_000 }
  : { aitrail: 200_000, aitrailPg: 50_000, logger: 50_000, baseline: 3_000, memorySeconds: 20, proofs: 100_000, queries: 100_000 };

const started = Date.now();
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "aitrail-bench-"));
const log = (s: string) => process.stderr.write(`${s}\n`);

async function pgReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const env = machine();
log(`aitrail bench (${FULL ? "full" : "quick"}) on ${env.cpus} x ${env.model}, ${env.memoryGb} GB, Node ${env.node}, SQLite ${env.sqlite}; load ${env.loadAverage.join(" ")}`);
const pgProblem = await pgReachable();
if (pgProblem) log(`PostgreSQL at ${PG_URL.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@")} not reachable (${pgProblem}): PostgreSQL rows skipped`);

// ---- ingest ---------------------------------------------------------------------------
const ingest: Record<string, IngestResult | { error: string }> = {};
const contenders: [string, number][] = [
  ["aitrail-sqlite", SIZES.aitrail],
  ["aitrail-postgres", SIZES.aitrailPg],
  ["brief-sqlite", SIZES.baseline],
  ["brief-postgres", SIZES.baseline],
  ["winston", SIZES.logger],
  ["pino", SIZES.logger],
  ["blockchain", SIZES.logger],
];
if (ONLY.has("ingest") || ONLY.has("verify")) {
  for (const [name, events] of contenders) {
    if (!ONLY.has("ingest") && name !== "aitrail-sqlite") continue;
    if (name.endsWith("postgres") && pgProblem) {
      ingest[name] = { error: `skipped: PostgreSQL not reachable (${pgProblem})` };
      continue;
    }
    log(`ingest: ${name}, ${events} events, ${CONCURRENCY} in flight`);
    const r: ChildResult<IngestResult> = await runChild("ingest-child.ts", [name, "--events", String(events), "--concurrency", String(CONCURRENCY), "--dir", work, "--url", PG_URL]);
    ingest[name] = r.ok && r.value ? r.value : { error: r.error ?? "failed" };
  }
}
const got = (name: string): IngestResult | null => {
  const r = ingest[name];
  return r && !("error" in r) ? r : null;
};

// ---- verify ---------------------------------------------------------------------------
let verify: VerifyResult | { error: string } | null = null;
const ledger = got("aitrail-sqlite")?.file;
if (ONLY.has("verify") && ledger) {
  log(`verify: ${got("aitrail-sqlite")!.events} events`);
  const r = await runChild<VerifyResult>("verify-child.ts", ["--file", ledger], { quiet: true });
  verify = r.ok && r.value ? r.value : { error: r.error ?? "failed" };
}
const v = verify && !("error" in verify) ? verify : null;

// ---- memory under sustained load ------------------------------------------------------
let memory: { seconds: number; events: number; eventsPerSecond: number; rssMb: { first: number; afterWarmup: number; last: number; max: number }; samples: number } | { error: string } | null = null;
if (ONLY.has("memory")) {
  log(`memory: sustained load for ${SIZES.memorySeconds} s`);
  const r = await runChild<IngestResult>("ingest-child.ts", ["aitrail-sqlite", "--events", "1000000000", "--duration", String(SIZES.memorySeconds), "--concurrency", String(CONCURRENCY), "--dir", work]);
  if (r.ok && r.value?.memory) {
    const m = r.value.memory;
    const warm = m.find((s) => s.at >= SIZES.memorySeconds * 0.2) ?? m[0]!;
    memory = {
      seconds: r.value.seconds,
      events: r.value.events,
      eventsPerSecond: r.value.eventsPerSecond,
      rssMb: { first: m[0]!.rssMb, afterWarmup: warm.rssMb, last: m.at(-1)!.rssMb, max: Math.max(...m.map((s) => s.rssMb)) },
      samples: m.length,
    };
  } else memory = { error: r.error ?? "failed" };
}

// ---- the other areas' benchmarks (proofs, queries, gateway), when present ---------------
const extras: Record<string, unknown> = {};
if (ONLY.has("extras")) {
  const plan: [string, string[]][] = [
    ["sqlite-floor.ts", ["--events", String(SIZES.aitrail)]],
    ["ledger-proofs.ts", ["--events", String(SIZES.proofs)]],
    ["postgres-ingest.ts", FULL ? ["--url", PG_URL, "--query-events", String(SIZES.queries)] : ["--url", PG_URL, "--events", "20000", "--baseline", "2000", "--query-events", String(SIZES.queries)]],
    ["client-overhead.ts", FULL ? [] : ["--calls", "100", "--rounds", "2", "--sequential", "50"]],
  ];
  for (const [script, a] of plan) {
    if (!fs.existsSync(path.join(BENCH_DIR, script))) continue;
    if (script.startsWith("postgres") && pgProblem) {
      extras[script] = { error: "skipped: PostgreSQL not reachable" };
      continue;
    }
    log(`extra: ${script} ${a.join(" ")}`);
    const r = await runChild(script, a, { quiet: true, timeoutMs: FULL ? 3_600_000 : 150_000 });
    extras[script] = r.ok ? r.value : { error: r.error };
  }
}

// ---- report ---------------------------------------------------------------------------
const ratio = (a: number | undefined, b: number | undefined): number | null => (a && b ? Math.round((a / b) * 100) / 100 : null);
const a = got("aitrail-sqlite");
const ratios = {
  aitrailSqliteVsBriefSqlite: ratio(a?.eventsPerSecond, got("brief-sqlite")?.eventsPerSecond),
  aitrailPostgresVsBriefPostgres: ratio(got("aitrail-postgres")?.eventsPerSecond, got("brief-postgres")?.eventsPerSecond),
  aitrailSqliteVsWinston: ratio(a?.eventsPerSecond, got("winston")?.eventsPerSecond),
  aitrailSqliteVsPino: ratio(a?.eventsPerSecond, got("pino")?.eventsPerSecond),
  aitrailSqliteVsBlockchain: ratio(a?.eventsPerSecond, got("blockchain")?.eventsPerSecond),
  sha256LimitVsVerifyAllCores: ratio(v?.sha256Limit.eventsPerSecond, v?.storeWalk.allCores.eventsPerSecond),
  sha256LimitVsCliVerify: ratio(v?.sha256Limit.eventsPerSecond, v?.cli.eventsPerSecond),
  aitrailVerifyVsBriefBlockchainVerify: ratio(v?.storeWalk.allCores.eventsPerSecond, v?.blockchain.eventsPerSecond),
};

const rows: string[][] = [["ingest", "events", "events/s", "latency p50", "latency p99", "CPU s", "cores", "peak RSS", "durable", "integrity"]];
for (const [name] of contenders) {
  const r = ingest[name];
  if (!r) continue;
  if ("error" in r) rows.push([name, "-", r.error.slice(0, 60), "", "", "", "", "", "", ""]);
  else
    rows.push([
      name,
      String(r.events),
      String(r.eventsPerSecond),
      `${r.latencyMs.p50.toFixed(3)} ms`,
      `${r.latencyMs.p99.toFixed(3)} ms`,
      r.cpuSeconds.toFixed(2),
      r.cores.toFixed(2),
      `${r.peakRssMb} MB`,
      r.durable ? "yes" : "no",
      r.integrity,
    ]);
}
const table = (t: string[][]) => {
  const w = t[0]!.map((_, i) => Math.max(...t.map((r) => (r[i] ?? "").length)));
  return t.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")).join("\n");
};
let text = `\n${table(rows)}\n`;
if (v) {
  const vt = [
    ["verify", "events", "events/s", "seconds", "CPU s", "vs SHA-256 limit"],
    ["SHA-256 limit (1 core, same bytes)", String(v.sha256Limit.sampled), String(v.sha256Limit.eventsPerSecond), "", "", `${v.sha256Limit.mbPerSecond} MB/s`],
    ["store walk + Merkle + checkpoint, 1 core", String(v.events), String(v.storeWalk.oneCore.eventsPerSecond), v.storeWalk.oneCore.seconds.toFixed(2), v.storeWalk.oneCore.cpuSeconds.toFixed(2), `${ratio(v.sha256Limit.eventsPerSecond, v.storeWalk.oneCore.eventsPerSecond)}x slower`],
    ["store walk + Merkle + checkpoint, all cores", String(v.events), String(v.storeWalk.allCores.eventsPerSecond), v.storeWalk.allCores.seconds.toFixed(2), v.storeWalk.allCores.cpuSeconds.toFixed(2), `${ratios.sha256LimitVsVerifyAllCores}x slower`],
    ["aitrail verify (CLI)", String(v.events), String(v.cli.eventsPerSecond), v.cli.seconds.toFixed(2), v.cli.cpuSeconds.toFixed(2), `${ratios.sha256LimitVsCliVerify}x slower`],
    ["brief AuditBlockchain.verifyIntegrity (memory)", String(v.blockchain.blocks), String(v.blockchain.eventsPerSecond), v.blockchain.seconds.toFixed(2), v.blockchain.cpuSeconds.toFixed(2), ""],
  ];
  text += `\n${table(vt)}\n`;
} else if (verify && "error" in verify) text += `\nverify: ${verify.error}\n`;
if (memory && !("error" in memory)) {
  text += `\nmemory under sustained load: ${memory.events} events in ${memory.seconds.toFixed(0)} s (${memory.eventsPerSecond}/s); RSS ${memory.rssMb.first} MB at start, ${memory.rssMb.afterWarmup} MB after warm-up, ${memory.rssMb.last} MB at the end (max ${memory.rssMb.max} MB)\n`;
} else if (memory) text += `\nmemory: ${memory.error}\n`;
text += `\nratios (same run):\n${Object.entries(ratios)
  .map(([k, x]) => `  ${k.padEnd(40)} ${x === null ? "n/a" : `${x}x`}`)
  .join("\n")}\n`;
for (const [k, x] of Object.entries(extras)) {
  text += `\n${k}: ${x && typeof x === "object" && "error" in x ? String(x.error) : "done (figures in the JSON file)"}`;
  if (k === "sqlite-floor.ts" && x && typeof x === "object" && "results" in x) {
    // What SQLite alone does per event with this schema: the most one writer can ingest.
    for (const f of (x as { results: { batch: number; usPerEvent: number; eventsPerSecond: number }[] }).results) {
      text += `\n  append alone, batches of ${f.batch}: ${f.usPerEvent} µs per event = ${f.eventsPerSecond} events/s`;
    }
  }
}
process.stdout.write(`${text}\n`);

const report = {
  mode: FULL ? "full" : "quick",
  startedAt: new Date(started).toISOString(),
  seconds: Math.round((Date.now() - started) / 1000),
  machine: env,
  loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
  concurrency: CONCURRENCY,
  ingest,
  verify,
  memory,
  ratios,
  extras,
};
const outDir = path.join(BENCH_DIR, "results");
fs.mkdirSync(outDir, { recursive: true });
const jsonFile = path.join(outDir, `bench-${stamp}.json`);
fs.writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
fs.copyFileSync(jsonFile, path.join(outDir, "latest.json"));

const panels: Panel[] = [];
const ingestBars = contenders
  .map(([name]) => got(name))
  .filter((r): r is IngestResult => r !== null)
  .map((r) => ({
    label: r.contender,
    value: r.eventsPerSecond,
    note: r.durable ? (r.integrity.startsWith("hash chain +") ? "durable, verifiable" : "durable, no integrity") : r.integrity === "none" ? "not durable, no integrity" : "memory only",
    highlight: r.contender.startsWith("aitrail"),
  }));
if (ingestBars.length) panels.push({ title: `Ingest, ${CONCURRENCY} calls in flight (events/s, log scale)`, unit: "/s", bars: ingestBars });
if (v) {
  panels.push({
    title: `Verify ${v.events} events (events/s, log scale)`,
    unit: "/s",
    bars: [
      { label: "SHA-256 limit, 1 core", value: v.sha256Limit.eventsPerSecond, note: "hashing only, same bytes" },
      { label: "aitrail verify, all cores", value: v.storeWalk.allCores.eventsPerSecond, note: "chain, columns, Merkle, checkpoint", highlight: true },
      { label: "aitrail verify, 1 core", value: v.storeWalk.oneCore.eventsPerSecond, highlight: true },
      { label: "brief blockchain verify", value: v.blockchain.eventsPerSecond, note: "in memory, nothing read" },
    ],
  });
}
const svg = chart(
  "aitrail vs the brief's patterns",
  `${env.cpus} x ${env.model}, ${env.memoryGb} GB, Node ${env.node}, SQLite ${env.sqlite}; ${FULL ? "full" : "quick"} run ${new Date(started).toISOString().slice(0, 16)}Z; load avg ${env.loadAverage[0]}`,
  panels,
);
const svgFile = path.join(outDir, `bench-${stamp}.svg`);
fs.writeFileSync(svgFile, svg);
fs.copyFileSync(svgFile, path.join(outDir, "latest.svg"));
if (PUBLISH) fs.writeFileSync(path.join(ROOT, "docs", "bench.svg"), svg);
log(`wrote ${path.relative(ROOT, jsonFile)} and ${path.relative(ROOT, svgFile)}${PUBLISH ? " and docs/bench.svg" : ""} in ${report.seconds} s`);
fs.rmSync(work, { recursive: true, force: true });
