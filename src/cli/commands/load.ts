import type { Command } from "commander";
import { runLoad, type LoadResult } from "../../load/load.js";
import { Progress, parsePositiveInt, withStore, type CliContext } from "../context.js";

interface LoadCliOptions {
  db?: string;
  store?: string;
  events: string;
  concurrency: string;
  duration?: string;
  seed: string;
  batch?: string;
  json?: boolean;
}

export function registerLoad(program: Command, ctx: CliContext): void {
  program
    .command("load")
    .description("drive synthetic AI-call events through the real recorder to size a store (no AI calls)")
    .option("--db <file>", "SQLite database file", "aitrail-load.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--events <n>", "number of events (the most, with --duration)", "100000")
    .option("--concurrency <c>", "events in flight at once", "512")
    .option("--duration <seconds>", "stop after this many seconds (a sustained run)")
    .option("--seed <s>", "workload seed", "1")
    .option("--batch <n>", "most events per transaction (group commit)")
    .option("--json", "print the result as JSON")
    .action(async (opts: LoadCliOptions) => {
      const events = parsePositiveInt("--events", opts.events, { min: 1, max: 1_000_000_000 });
      const concurrency = parsePositiveInt("--concurrency", opts.concurrency, { min: 1, max: 100_000 });
      const durationSeconds = opts.duration === undefined ? undefined : parsePositiveInt("--duration", opts.duration, { min: 1, max: 7 * 86_400 });
      const maxBatch = opts.batch === undefined ? undefined : parsePositiveInt("--batch", opts.batch, { min: 1, max: 100_000 });
      const result = await withStore(opts, false, async (store) => {
        const progress = new Progress(ctx.io, "load", events);
        const r = await runLoad({
          store,
          events,
          concurrency,
          seed: opts.seed,
          ...(durationSeconds === undefined ? {} : { durationSeconds }),
          ...(maxBatch === undefined ? {} : { recorder: { maxBatch } }),
          onProgress: (n) => progress.update(n),
        });
        progress.done();
        return r;
      });
      ctx.io.out(opts.json ? `${JSON.stringify(result)}\n` : formatLoad(result));
    });
}

export function formatLoad(r: LoadResult): string {
  const rows: [string, string][] = [
    ["store", r.store],
    ["events", String(r.events)],
    ["concurrency", String(r.concurrency)],
    ["seconds", r.seconds.toFixed(2)],
    ["events/s", String(r.eventsPerSecond)],
    ["commit latency p50", `${r.latencyMs.p50.toFixed(2)} ms`],
    ["commit latency p99", `${r.latencyMs.p99.toFixed(2)} ms`],
    ["transactions", String(r.batches)],
    ["cpu", `${(r.cpu.userSeconds + r.cpu.systemSeconds).toFixed(2)} s (${r.cpu.cores.toFixed(2)} cores)`],
    ["event loop busy", `${Math.round(r.eventLoop.utilization * 100)}% (${r.eventLoop.busyMicrosPerEvent.toFixed(1)} µs per event)`],
    ["peak RSS", `${r.peakRssMb} MB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}
