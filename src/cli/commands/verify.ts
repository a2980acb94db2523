import type { Command } from "commander";
import { verifyStore } from "../../store/verify.js";
import { Progress, withStore, type CliContext } from "../context.js";

interface VerifyOptions {
  db?: string;
  store?: string;
  json?: boolean;
}

export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command("verify")
    .description("recompute every hash and check every column; exit 1 naming the first bad seq")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--json", "print the result as JSON")
    .action(async (opts: VerifyOptions) => {
      const result = await withStore(opts, true, async (store) => {
        const head = await store.head();
        const progress = new Progress(ctx.io, "verify", head.size);
        const started = performance.now();
        const r = await verifyStore(store, { onProgress: (n) => progress.update(n) });
        progress.done();
        return { ...r, seconds: (performance.now() - started) / 1000 };
      });
      const report = {
        ok: result.ok,
        events: result.events,
        firstBadSeq: result.firstBadSeq,
        problem: result.problem,
        detail: result.detail,
      };
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(report)}\n`);
      } else if (result.ok) {
        const rate = Math.round(result.events / Math.max(result.seconds, 1e-6));
        ctx.io.out(`OK: ${result.events} events verified (chain, leaf hashes, columns) in ${result.seconds.toFixed(2)}s (${rate} events/s)\n`);
      } else {
        ctx.io.out(`FAILED at seq ${result.firstBadSeq}: ${result.problem}: ${result.detail}\n`);
      }
      ctx.exitCode = result.ok ? 0 : 1;
    });
}
