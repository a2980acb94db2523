import type { Command } from "commander";
import { AITrail } from "../../client/trail.js";
import { demoProviders, runDemoCalls } from "../../client/demo-calls.js";
import type { TrailOptions } from "../../client/config.js";
import { workload, syntheticEvent } from "../../demo/workload.js";
import { Recorder } from "../../pipeline/recorder.js";
import { startProviderServer } from "../../provider-server/server.js";
import { openStore, parseStoreUrl } from "../../store/open.js";
import { Progress, parsePositiveInt, storeSpec, withStore, type CliContext } from "../context.js";
import { cliCheckpointer, resolveLedgerPaths, type LedgerCliOptions } from "./checkpoint.js";

interface DemoOptions extends LedgerCliOptions {
  events: string;
  seed: string;
  concurrency: string;
  json?: boolean;
  synthetic?: boolean;
  plain?: boolean;
  level: string;
}

interface DemoSummary {
  mode: "calls" | "synthetic";
  store: string;
  events: number;
  errors: number;
  totalCost: number;
  seconds: number;
  eventsPerSecond: number;
  ledgerSize: number;
  protected: boolean;
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description(
      "make a seeded workload of real AI calls (over HTTP to the local test provider) through AITrail, each recorded as an audit event, and sign a checkpoint",
    )
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--events <n>", "number of calls (events)", "1000")
    .option("--seed <s>", "workload seed: the same seed gives the same workload", "1")
    .option("--concurrency <c>", "calls in flight at once", "32")
    .option("--level <level>", "audit level: minimal, standard or detailed", "standard")
    .option("--plain", "store identifiers in plain columns (protection off)")
    .option("--synthetic", "record synthetic events straight through the Recorder, without AI calls (fast; for sizing)")
    .option("--json", "print the summary as JSON")
    .option("--keys <dir>", "key directory: master key and checkpoint signing key (default: .aitrail/ beside the database)")
    .option("--witness <file>", "witness file for checkpoints (default: <database>.witness)")
    .option("--no-witness", "do not use a witness file")
    .action(async (opts: DemoOptions) => {
      const total = parsePositiveInt("--events", opts.events, { min: 1, max: 100_000_000 });
      const concurrency = parsePositiveInt("--concurrency", opts.concurrency, { min: 1, max: 10_000 });
      const summary = opts.synthetic ? await synthetic(ctx, opts, total, concurrency) : await realCalls(ctx, opts, total, concurrency);
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(summary)}\n`);
      } else {
        const what = summary.mode === "calls" ? "AI calls" : "synthetic events";
        ctx.io.out(
          `recorded ${summary.events} ${what} (${summary.errors} provider errors, $${summary.totalCost.toFixed(4)}) ` +
            `in ${summary.seconds}s (${summary.eventsPerSecond} events/s) into ${summary.store}; ledger size ${summary.ledgerSize}` +
            `${summary.protected ? "; identifiers pseudonymised, personal fields encrypted" : ""}\n`,
        );
      }
    });
}

/** The whole path: provider clients over HTTP, usage, pricing, protection, recorder, store, checkpoint. */
async function realCalls(ctx: CliContext, opts: DemoOptions, total: number, concurrency: number): Promise<DemoSummary> {
  if (!["minimal", "standard", "detailed"].includes(opts.level)) {
    const { AitrailError } = await import("../../errors.js");
    throw new AitrailError("INVALID_ARGUMENT", `--level must be minimal, standard or detailed, got "${opts.level}"`);
  }
  const spec = parseStoreUrl(storeSpec(opts));
  const paths = resolveLedgerPaths(opts);
  const encryption = opts.plain ? "none" : "AES-256-GCM";
  const storage: NonNullable<NonNullable<TrailOptions["auditLog"]>["storage"]> =
    spec.type === "postgres"
      ? { type: "postgres", connectionString: spec.connectionString, ...(spec.schema ? { schema: spec.schema } : {}), encryption }
      : spec.type === "memory"
        ? { type: "memory", encryption }
        : { type: "sqlite", path: spec.path, encryption };
  // Open the store once first, so a wrong path or a foreign database fails with its own code
  // before any call is made.
  await (await openStore(spec)).close();
  const server = await startProviderServer();
  const progress = new Progress(ctx.io, "demo", total);
  const start = performance.now();
  let result;
  try {
    const trail = new AITrail({
      providers: demoProviders(server),
      auditLog: {
        level: opts.level as "minimal" | "standard" | "detailed",
        storage,
        keyDir: paths.keyDir,
        checkpoints: { everyEvents: 0, everySeconds: 0, witnessFile: paths.witnessFile },
      },
      failMode: "closed",
    });
    try {
      result = await runDemoCalls({ trail, calls: workload(total, opts.seed), concurrency, onProgress: (n) => progress.update(n) });
    } finally {
      // Closing commits everything and signs the final checkpoint (database and witness file).
      await trail.close();
    }
  } finally {
    await server.close();
    progress.done();
  }
  const seconds = (performance.now() - start) / 1000;
  const store = await openStore(spec, { mustExist: true });
  const head = await store.head().finally(() => store.close());
  return {
    mode: "calls",
    store: store.location,
    events: result.calls,
    errors: result.failed,
    totalCost: Math.round(result.totalCost * 1e6) / 1e6,
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: Math.round(result.calls / seconds),
    ledgerSize: head.size,
    protected: !opts.plain,
  };
}

/** Synthetic events straight into the Recorder: no provider, no protection; for sizing a store. */
async function synthetic(ctx: CliContext, opts: DemoOptions, total: number, concurrency: number): Promise<DemoSummary> {
  return withStore(opts, false, async (store) => {
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
      mode: "synthetic",
      store: store.location,
      events: done,
      errors,
      totalCost: Math.round(cost * 1e6) / 1e6,
      seconds: Math.round(seconds * 1000) / 1000,
      eventsPerSecond: Math.round(done / seconds),
      ledgerSize: head.size,
      protected: false,
    };
  });
}
