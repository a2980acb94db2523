import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { toTable } from "../../query/format.js";
import { describeHold, listHolds, type HoldInput } from "../../retention/holds.js";
import { FRAMEWORK_MINIMUMS, RETENTION_FRAMEWORKS, type RetentionPolicy } from "../../retention/policy.js";
import { placeHold, readPolicy, releaseHold, runRetention, setPolicy, type RetentionReport } from "../../retention/run.js";
import type { AuditStore, StorePurge } from "../../store/types.js";
import { parsePositiveInt, withStore, type CliContext, type StoreOptions } from "../context.js";
import { addLedgerOptions, cliCheckpointer, type LedgerCliOptions } from "./checkpoint.js";

function storeOptions(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db");
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function purgeable(store: AuditStore): AuditStore & StorePurge {
  if (typeof (store as Partial<StorePurge>).purgePrefix !== "function") {
    throw new AitrailError("INVALID_ARGUMENT", `${store.location}: this store cannot purge`);
  }
  return store as AuditStore & StorePurge;
}

function pairs(name: string, values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const at = v.lastIndexOf("=");
    if (at <= 0 || at === v.length - 1) throw new AitrailError("INVALID_ARGUMENT", `${name} takes <name>=<period>, e.g. marketing=30d; got "${v}"`);
    out[v.slice(0, at)] = v.slice(at + 1);
  }
  return out;
}

function describePolicy(p: RetentionPolicy): string {
  const lines = [`frameworks: ${p.frameworks.length ? p.frameworks.join(", ") : "(none)"}`];
  for (const fw of p.frameworks) {
    if (fw === "GDPR") continue;
    const min = FRAMEWORK_MINIMUMS[fw];
    lines.push(`  ${fw}: ${p.overrides?.[fw] ?? JSON.stringify(min.period)} - ${min.citation}`);
  }
  for (const [purpose, period] of Object.entries(p.gdprPurposes)) lines.push(`GDPR purpose "${purpose}": ${period} (storage limitation, Art. 5(1)(e))`);
  lines.push(`default: ${p.defaultPeriod ?? "kept (no default period)"}`);
  lines.push("HIPAA's six years also apply to every event that touched PHI; the longest applicable period wins.");
  return lines.join("\n") + "\n";
}

function printReport(ctx: CliContext, r: RetentionReport): void {
  const verb = r.dryRun ? "would purge" : "purged";
  if (r.count === 0) {
    ctx.io.out(`nothing to purge (ledger starts at seq ${r.fromSeq})\n`);
  } else {
    ctx.io.out(`${verb} ${r.count} events, seq ${r.fromSeq}..${r.toSeq - 1} (${r.firstTimestamp} .. ${r.lastTimestamp})\n`);
    for (const [rule, n] of Object.entries(r.rules)) ctx.io.out(`  ${n} released by ${rule}\n`);
    if (r.archive) ctx.io.out(`archive: ${r.archive.path} (verified; checkpoint: ${r.archive.checkpoint})\npurge recorded as ${r.purgeEventId}; ${r.deleted} rows deleted\n`);
  }
  if (r.stoppedAt) ctx.io.out(`kept from seq ${r.stoppedAt.seq} (${r.stoppedAt.timestamp}): ${r.stoppedAt.detail}\n`);
}

export function registerRetention(program: Command, ctx: CliContext): void {
  const retention = program.command("retention").description("retention policies, legal holds, and archive-then-delete runs");

  storeOptions(retention.command("policy").description("show the retention policy, or set it when options are given"))
    .option("--framework <name>", `a framework that applies to every event (${RETENTION_FRAMEWORKS.join(", ")}); repeatable`, collect)
    .option("--gdpr-purpose <purpose=period>", "GDPR storage limitation for one purpose, e.g. marketing=30d; repeatable", collect)
    .option("--default <period>", "period for events no rule covers (default: keep them)")
    .option("--override <framework=period>", "lengthen a framework minimum, e.g. HIPAA=7y; repeatable", collect)
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { framework?: string[]; gdprPurpose?: string[]; default?: string; override?: string[]; json?: boolean }) => {
      const setting = opts.framework !== undefined || opts.gdprPurpose !== undefined || opts.default !== undefined || opts.override !== undefined;
      const policy = await withStore(opts, !setting ? true : false, async (store) => {
        if (!setting) return readPolicy(store);
        return setPolicy(store, {
          frameworks: opts.framework ?? [],
          gdprPurposes: pairs("--gdpr-purpose", opts.gdprPurpose),
          ...(opts.default !== undefined ? { defaultPeriod: opts.default } : {}),
          ...(opts.override !== undefined ? { overrides: pairs("--override", opts.override) } : {}),
        });
      });
      if (opts.json) ctx.io.out(`${JSON.stringify(policy)}\n`);
      else ctx.io.out(policy ? describePolicy(policy) : "no retention policy set (nothing is ever purged)\n");
    });

  addLedgerOptions(retention.command("run").description("archive the expired prefix of the ledger, verify the archive, record the purge, delete"))
    .option("--dry-run", "show what would be purged; write nothing")
    .option("--archive-dir <dir>", "cold storage directory for archives", "aitrail-archive")
    .option("--max-events <n>", "purge at most this many events in this run")
    .option("--no-sign", "do not sign a checkpoint when none covers the range")
    .option("--json", "print the report as JSON")
    .action(async (opts: LedgerCliOptions & { dryRun?: boolean; archiveDir: string; maxEvents?: string; sign: boolean; json?: boolean }) => {
      const max = opts.maxEvents !== undefined ? parsePositiveInt("--max-events", opts.maxEvents, { min: 1 }) : undefined;
      const report = await withStore(opts, true, (store) =>
        runRetention({
          store: purgeable(store),
          archiveDir: opts.archiveDir,
          dryRun: opts.dryRun ?? false,
          ...(max !== undefined ? { maxEvents: max } : {}),
          ...(opts.sign && !opts.dryRun ? { checkpoint: () => cliCheckpointer(store, opts).checkpoint() } : {}),
        }),
      );
      if (opts.json) ctx.io.out(`${JSON.stringify(report)}\n`);
      else printReport(ctx, report);
    });

  const hold = retention.command("hold").description("legal holds: what they cover is never purged");
  storeOptions(hold.command("add").description("place a legal hold on a user, a patient or a time range"))
    .option("--user <id>", "the user id as stored (a pseudonym when privacy protection is on)")
    .option("--patient <id>", "the patient id as stored")
    .option("--from <time>", "start of a time range (inclusive)")
    .option("--to <time>", "end of a time range (exclusive)")
    .requiredOption("--reason <text>", "the matter or case the hold serves")
    .option("--json", "print the hold as JSON")
    .action(async (opts: StoreOptions & { user?: string; patient?: string; from?: string; to?: string; reason: string; json?: boolean }) => {
      const kinds = [opts.user !== undefined, opts.patient !== undefined, opts.from !== undefined || opts.to !== undefined].filter(Boolean).length;
      if (kinds !== 1) throw new AitrailError("INVALID_ARGUMENT", "a hold is on exactly one of --user, --patient, or --from/--to");
      let input: HoldInput;
      if (opts.user !== undefined) input = { kind: "user", userId: opts.user, reason: opts.reason };
      else if (opts.patient !== undefined) input = { kind: "patient", patientId: opts.patient, reason: opts.reason };
      else {
        if (opts.from === undefined || opts.to === undefined) throw new AitrailError("INVALID_ARGUMENT", "a range hold needs both --from and --to");
        input = { kind: "range", from: opts.from, to: opts.to, reason: opts.reason };
      }
      const h = await withStore(opts, true, (store) => placeHold(store, input));
      ctx.io.out(opts.json ? `${JSON.stringify(h)}\n` : `placed ${describeHold(h)}\n`);
    });
  storeOptions(hold.command("list").description("list legal holds in force"))
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { json?: boolean }) => {
      const holds = await withStore(opts, true, (store) => listHolds(store));
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(holds)}\n`);
        return;
      }
      ctx.io.out(
        toTable(
          holds.map((h) => ({
            id: h.id,
            kind: h.kind,
            covers: h.kind === "user" ? h.userId : h.kind === "patient" ? h.patientId : `${h.from} .. ${h.to}`,
            reason: h.reason,
            placedAt: h.placedAt,
          })),
        ),
      );
    });
  storeOptions(hold.command("release").description("release a legal hold").argument("<id>", "the hold id (aitrail retention hold list)")).action(
    async (id: string, opts: StoreOptions) => {
      const h = await withStore(opts, true, (store) => releaseHold(store, id));
      ctx.io.out(`released ${describeHold(h)}\n`);
    },
  );

  retention.action(() => {
    throw new AitrailError("INVALID_ARGUMENT", "aitrail retention needs a subcommand: policy, run, hold");
  });
}
