import os from "node:os";
import type { Command } from "commander";
import { Recorder } from "../../pipeline/recorder.js";
import type { AuditStore } from "../../store/types.js";
import { AitrailError } from "../../errors.js";
import { AuditQuery, parseDuration, toRecord } from "../../query/audit-query.js";
import { toCsv, toTable, type TableRow } from "../../query/format.js";
import { parsePositiveInt, withStore, type CliContext } from "../context.js";
import { storedIdentifier, type PrivacyCliOptions } from "../privacy.js";

interface OutputOptions {
  db?: string;
  store?: string;
  json?: boolean;
  csv?: boolean;
  reader?: string;
}

interface EventsOptions extends OutputOptions {
  user?: string;
  type?: string;
  limit: string;
}

const SUBCOMMANDS = "events, cost-by-user, anomalies, error-rate, compliance, consent";

function common(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--json", "print JSON")
    .option("--csv", "print CSV (formula cells neutralised)")
    .option("--reader <name>", "who reads, recorded in the audit.read event (default cli:<os user>)");
}

/** Runs a read with an AuditQuery that records it as an audit.read event before answering. */
async function auditedRead<T>(opts: OutputOptions, fn: (q: AuditQuery, store: AuditStore) => Promise<T>): Promise<T> {
  return withStore(opts, true, async (store) => {
    const recorder = new Recorder({ store });
    try {
      const reader = opts.reader ?? `cli:${os.userInfo().username}`;
      return await fn(new AuditQuery(store, { audit: { reader, record: (e) => recorder.record(e) } }), store);
    } finally {
      await recorder.close();
    }
  });
}

function print(ctx: CliContext, opts: OutputOptions, rows: TableRow[], json: unknown = rows, columns?: string[]): void {
  if (opts.json && opts.csv) throw new AitrailError("INVALID_ARGUMENT", "choose one of --json and --csv");
  if (opts.json) ctx.io.out(`${JSON.stringify(json, null, 2)}\n`);
  else if (opts.csv) ctx.io.out(toCsv(rows, columns));
  else ctx.io.out(toTable(rows, columns));
}

function date(name: string, value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new AitrailError("INVALID_ARGUMENT", `${name} must be a date (2025-01-31 or an ISO 8601 time), got "${value}"`);
  return d;
}

function number(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new AitrailError("INVALID_ARGUMENT", `${name} must be a number >= 0, got "${value}"`);
  return n;
}

const withQuery = <T>(opts: OutputOptions, fn: (q: AuditQuery) => Promise<T>): Promise<T> => auditedRead(opts, (q) => fn(q));

export function registerQuery(program: Command, ctx: CliContext): void {
  const query = program.command("query").description("answer questions from the audit trail");

  common(query.command("events").description("events, newest first"))
    .option("--user <id>", "only this user's events (the raw id, mapped to its pseudonym, or a psn_ pseudonym as stored)")
    .option("--type <type>", "only events of this type (ai.generate, policy.denied, ...)")
    .option("--limit <n>", "at most this many events", "100")
    .option("--key-dir <dir>", "directory holding master.key, to map --user (default .aitrail/ beside the database)")
    .option("--keys <dir>", "the key directory, as the ledger commands name it (same as --key-dir)")
    .action(async (opts: EventsOptions & PrivacyCliOptions) => {
      const limit = parsePositiveInt("--limit", opts.limit, { min: 1, max: 1_000_000 });
      const rows = await auditedRead(opts, async (q, store) => {
        // A raw identifier is looked up through its pseudonym; an unknown or erased one finds nothing.
        const userId =
          opts.user === undefined || opts.user.startsWith("psn_") ? opts.user : await storedIdentifier(store, opts, "user", opts.user);
        const found =
          userId === null
            ? []
            : await store.findEvents({
                ...(userId !== undefined ? { userId } : {}),
                ...(opts.type !== undefined ? { type: opts.type } : {}),
                limit,
                order: "desc",
              });
        return q.recordRead("events", { user: opts.user === undefined ? undefined : userId === null ? "(unknown subject)" : userId, type: opts.type, limit }, found, found.length);
      });
      const events = rows.map(toRecord) as unknown as Record<string, unknown>[];
      if (opts.json || opts.csv) {
        const flat = events.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === "object" && v !== null ? JSON.stringify(v) : v]))) as TableRow[];
        print(ctx, opts, flat, events);
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

  common(query.command("cost-by-user").description("AI calls, cost, latency and tokens per user, most expensive first"))
    .option("--since <date>", "start (inclusive); default 30 days ago")
    .option("--until <date>", "end (inclusive); default now")
    .action(async (opts: OutputOptions & { since?: string; until?: string }) => {
      const until = opts.until !== undefined ? date("--until", opts.until) : new Date();
      const since = opts.since !== undefined ? date("--since", opts.since) : new Date(until.getTime() - 30 * 86_400_000);
      const rows = await withQuery(opts, (q) => q.getCostByUser(since, until));
      print(ctx, opts, rows as unknown as TableRow[], rows, ["userId", "totalRequests", "totalCost", "avgLatency", "totalTokens"]);
    });

  common(query.command("anomalies").description("users above a request rate (the brief's detectAnomalies)"))
    .option("--threshold <n>", "requests per hour", "100")
    .option("--window <duration>", "look-back window (30m, 1h, 24h)", "1h")
    .action(async (opts: OutputOptions & { threshold: string; window: string }) => {
      const threshold = number("--threshold", opts.threshold);
      const windowMs = parseDuration(opts.window);
      const rows = await withQuery(opts, (q) => q.detectAnomalies(threshold, { windowMs }));
      print(ctx, opts, rows as unknown as TableRow[], rows, ["userId", "requestsPerHour", "avgCostPerRequest"]);
    });

  common(query.command("error-rate").description("error rate of AI calls per provider, worst first"))
    .option("--window <duration>", "look-back window (1h, 24h, 7d)", "24h")
    .action(async (opts: OutputOptions & { window: string }) => {
      const windowMs = parseDuration(opts.window);
      const rows = await withQuery(opts, (q) => q.errorRateByProvider(windowMs));
      print(ctx, opts, rows as unknown as TableRow[], rows, ["provider", "totalRequests", "errors", "errorRate"]);
    });

  common(query.command("compliance").description("events tagged with a framework, newest first"))
    .requiredOption("--framework <name>", "GDPR, HIPAA, SOC2, EU_AI_ACT or PCI_DSS")
    .option("--days <n>", "look-back in days", "90")
    .option("--limit <n>", "at most this many events", "10000")
    .action(async (opts: OutputOptions & { framework: string; days: string; limit: string }) => {
      const days = number("--days", opts.days);
      const limit = parsePositiveInt("--limit", opts.limit, { min: 1, max: 1_000_000 });
      const report = await withQuery(opts, (q) => q.getComplianceReport(opts.framework, days, { limit }));
      const rows = report.events.map((e) => ({
        seq: e.seq,
        timestamp: e.timestamp,
        eventId: e.eventId,
        type: e.type,
        userId: e.userId ?? null,
        action: e.action ?? null,
        purpose: e.purpose ?? null,
        provider: e.provider ?? null,
        status: e.status ?? null,
      }));
      print(ctx, opts, rows, report);
      if (report.truncated && !opts.json) ctx.io.err(`(more than ${limit} events matched; raise --limit)\n`);
    });

  common(query.command("consent").description("AI calls with the consent they named: granted, revoked, valid at the call"))
    .option("--days <n>", "look-back in days", "90")
    .option("--limit <n>", "at most this many rows", "1000")
    .action(async (opts: OutputOptions & { days: string; limit: string }) => {
      const days = number("--days", opts.days);
      const limit = parsePositiveInt("--limit", opts.limit, { min: 1, max: 1_000_000 });
      const rows = await withQuery(opts, (q) => q.consentTracking(days, { limit }));
      print(ctx, opts, rows as unknown as TableRow[], rows, ["timestamp", "userId", "action", "consentId", "granted", "revoked", "validAtCall", "eventId"]);
    });

  query.action(() => {
    throw new AitrailError("INVALID_ARGUMENT", `aitrail query needs a subcommand: ${SUBCOMMANDS}`);
  });
}
