import type { Command } from "commander";
import { workload, syntheticEvent } from "../../demo/workload.js";
import { Recorder } from "../../pipeline/recorder.js";
import { Progress, parsePositiveInt, withStore, type CliContext } from "../context.js";
import { cliCheckpointer, type LedgerCliOptions } from "./checkpoint.js";

interface DemoOptions extends LedgerCliOptions {
  db?: string;
  store?: string;
  events: string;
  seed: string;
  concurrency: string;
  json?: boolean;
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description("record a realistic, seeded workload of AI-call audit events")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--events <n>", "number of events", "1000")
    .option("--seed <s>", "workload seed: the same seed gives the same workload", "1")
    .option("--concurrency <c>", "calls in flight at once", "64")
    .option("--json", "print the summary as JSON")
    .option("--keys <dir>", "checkpoint signing key directory (default: .aitrail/ beside the database)")
    .option("--witness <file>", "witness file for checkpoints (default: <database>.witness)")
    .option("--no-witness", "do not use a witness file")
    .action(async (opts: DemoOptions) => {
      const total = parsePositiveInt("--events", opts.events, { min: 1, max: 100_000_000 });
      const concurrency = parsePositiveInt("--concurrency", opts.concurrency, { min: 1, max: 10_000 });
      const summary = await withStore(opts, false, async (store) => {
        const recorder = new Recorder({ store });
        const progress = new Progress(ctx.io, "demo", total);
        const calls = workload(total, opts.seed);
        let done = 0;
        let errors = 0;
        let cost = 0;
        const start = performance.now();
        const worker = async (): Promise<void> => {
          for (let next = calls.next(); !next.done; next = calls.next()) {
            const call = next.value;
            const latency = 150 + call.outputTokens * 4 + (call.inputTokens % 97);
            const { event } = await recorder.record(syntheticEvent(call, latency));
            if (event.status === "error") errors += 1;
            cost += event.cost ?? 0;
            done += 1;
            progress.update(done);
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        await recorder.close();
        progress.done();
        const seconds = (performance.now() - start) / 1000;
        const head = await store.head();
        // A signed checkpoint of the whole ledger, kept in the database and the witness file.
        await cliCheckpointer(store, opts).checkpoint();
        return {
          store: store.location,
          events: done,
          errors,
          totalCost: Math.round(cost * 1e6) / 1e6,
          seconds: Math.round(seconds * 1000) / 1000,
          eventsPerSecond: Math.round(done / seconds),
          ledgerSize: head.size,
        };
      });
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(summary)}\n`);
      } else {
        ctx.io.out(
          `recorded ${summary.events} events (${summary.errors} provider errors, $${summary.totalCost.toFixed(4)}) ` +
            `in ${summary.seconds}s (${summary.eventsPerSecond} events/s) into ${summary.store}; ledger size ${summary.ledgerSize}\n`,
        );
      }
    });
}
