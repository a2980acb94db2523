import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { ERASABLE_KINDS } from "../../privacy/erase.js";
import type { ErasableKind } from "../../privacy/erase.js";
import type { CliContext } from "../context.js";
import { withPrivacy } from "../privacy.js";
import type { PrivacyCliOptions } from "../privacy.js";

interface EraseOptions extends PrivacyCliOptions {
  subject: string;
  kind: string;
  reference?: string;
  json?: boolean;
}

export function registerErase(program: Command, ctx: CliContext): void {
  program
    .command("erase")
    .description("erase a data subject (GDPR Art. 17): destroy their key and salt, record a subject.erased tombstone")
    .requiredOption("--subject <id>", "the subject's identifier as your application knows it, e.g. user-12345")
    .option("--kind <kind>", `kind of subject: ${ERASABLE_KINDS.join(", ")}`, "user")
    .option("--reference <ref>", "request or ticket reference kept with the tombstone (no personal data)")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--key-dir <dir>", "directory holding master.key (default .aitrail/ beside the database); AITRAIL_MASTER_KEY wins")
    .option("--keys <dir>", "the key directory, as the ledger commands name it (same as --key-dir)")
    .option("--json", "print the result as JSON")
    .action(async (opts: EraseOptions) => {
      if (!(ERASABLE_KINDS as readonly string[]).includes(opts.kind)) {
        throw new AitrailError("INVALID_ARGUMENT", `--kind must be one of ${ERASABLE_KINDS.join(", ")}, got "${opts.kind}"`);
      }
      const report = await withPrivacy(opts, async ({ privacy, recorder }) => {
        const r = await privacy.erase(
          { subject: opts.subject, kind: opts.kind as ErasableKind, ...(opts.reference ? { reference: opts.reference } : {}) },
          (input) => recorder.record(input),
        );
        await recorder.flush();
        return r;
      });
      if (opts.json) {
        const { tombstone: _t, ...rest } = report as typeof report & { tombstone?: unknown };
        ctx.io.out(`${JSON.stringify(rest)}\n`);
      } else if (report.status === "erased") {
        ctx.io.out(`erased: ${report.kind} key ${report.keyId} destroyed; tombstone ${report.tombstoneEventId} recorded\n`);
      } else {
        ctx.io.out(`nothing erased: ${report.message}\n`);
      }
      if (report.status === "erased" && report.checkpoint && !report.checkpoint.complete) {
        ctx.io.err(
          `warning: another process holds the database open; ${report.checkpoint.remainingFrames} WAL frame(s) may still hold the destroyed key until it closes\n`,
        );
      }
      ctx.exitCode = report.status === "erased" ? 0 : 1;
    });
}
