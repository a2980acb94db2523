import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { parsePositiveInt, withStore, type CliContext } from "../context.js";

interface EventsOptions {
  db?: string;
  store?: string;
  user?: string;
  type?: string;
  limit: string;
  json?: boolean;
}

export function registerQuery(program: Command, ctx: CliContext): void {
  const query = program.command("query").description("answer questions from the audit trail");
  query
    .command("events")
    .description("events, newest first")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--user <id>", "only this user's events")
    .option("--type <type>", "only events of this type (ai.generate, policy.denied, ...)")
    .option("--limit <n>", "at most this many events", "100")
    .option("--json", "print a JSON array")
    .action(async (opts: EventsOptions) => {
      const limit = parsePositiveInt("--limit", opts.limit, { min: 1, max: 1_000_000 });
      const rows = await withStore(opts, true, (store) =>
        store.findEvents({
          ...(opts.user !== undefined ? { userId: opts.user } : {}),
          ...(opts.type !== undefined ? { type: opts.type } : {}),
          limit,
          order: "desc",
        }),
      );
      const events: Record<string, unknown>[] = rows.map((r) => ({ seq: r.seq, ...(JSON.parse(r.canonical) as Record<string, unknown>) }));
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(events, null, 2)}\n`);
        return;
      }
      if (events.length === 0) {
        ctx.io.out("no events\n");
        return;
      }
      for (const e of events) {
        ctx.io.out(
          ["seq", "timestamp", "eventId", "type", "userId", "provider", "model", "status"].map((k) => JSON.stringify(e[k] ?? "-").replace(/^"|"$/g, "")).join("  ") + "\n",
        );
      }
    });
  query.action(() => {
    throw new AitrailError("INVALID_ARGUMENT", "aitrail query needs a subcommand: events");
  });
}
