import fs from "node:fs";
import os from "node:os";
import type { Command } from "commander";
import { ConsentManager } from "../../consent/manager.js";
import { PurposeRegistry } from "../../consent/purposes.js";
import { subjectAccess } from "../../consent/subject-access.js";
import { renderSubjectAccessHtml } from "../../consent/subject-access-html.js";
import { AitrailError, errorMessage } from "../../errors.js";
import type { CliContext } from "../context.js";
import { withPrivacy } from "../privacy.js";
import type { PrivacyCliOptions } from "../privacy.js";

interface DsarOptions extends PrivacyCliOptions {
  subject: string;
  kind: string;
  format: string;
  out?: string;
  reader?: string;
  purposes?: string;
  controller?: string;
}

function loadPurposes(file: string): PurposeRegistry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new AitrailError("INVALID_ARGUMENT", `--purposes ${file}: ${errorMessage(err)}`, { cause: err });
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { purposes?: unknown } | null)?.purposes;
  return new PurposeRegistry(list as never);
}

export function registerDsar(program: Command, ctx: CliContext): void {
  program
    .command("dsar")
    .description("subject access report (GDPR Art. 15/20): the subject's events decrypted, purposes, recipients, consents; the reading is audited")
    .requiredOption("--subject <id>", "the subject's identifier as your application knows it, e.g. user-12345")
    .option("--kind <kind>", "user or patient", "user")
    .option("--format <format>", "json or html", "json")
    .option("--out <file>", "write the report to this file (mode 0600) instead of stdout")
    .option("--reader <name>", "who asks, recorded in the audit.read event (default cli:<os user>)")
    .option("--purposes <file>", "JSON file with the purpose registry (compliance.gdpr.purposes)")
    .option("--controller <name>", "the controller's name, printed on the report")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--key-dir <dir>", "directory holding master.key (default .aitrail/ beside the database); AITRAIL_MASTER_KEY wins")
    .option("--keys <dir>", "the key directory, as the ledger commands name it (same as --key-dir)")
    .action(async (opts: DsarOptions) => {
      if (opts.format !== "json" && opts.format !== "html") {
        throw new AitrailError("INVALID_ARGUMENT", `--format must be json or html, got "${opts.format}"`);
      }
      if (opts.kind !== "user" && opts.kind !== "patient") {
        throw new AitrailError("INVALID_ARGUMENT", `--kind must be user or patient, got "${opts.kind}"`);
      }
      const purposes = opts.purposes ? loadPurposes(opts.purposes) : null;
      const reader = opts.reader ?? `cli:${os.userInfo().username}`;
      const report = await withPrivacy(opts, async ({ store, privacy, recorder }) => {
        const consent = new ConsentManager({ record: (e) => recorder.record(e), store, privacy: privacy.protector });
        const r = await subjectAccess(opts.subject, {
          store,
          privacy: privacy.protector,
          consent,
          purposes,
          record: (e) => recorder.record(e),
          reader,
          kind: opts.kind as "user" | "patient",
          format: opts.format,
          ...(opts.controller ? { controller: opts.controller } : {}),
        });
        await recorder.flush();
        return r;
      });
      const text = opts.format === "html" ? renderSubjectAccessHtml(report) : `${JSON.stringify(report, null, 2)}\n`;
      if (opts.out) {
        fs.writeFileSync(opts.out, text, { mode: 0o600 });
        fs.chmodSync(opts.out, 0o600);
        ctx.io.err(`wrote ${opts.out}: ${report.summary.events} event(s); reading recorded as ${report.readEventId}\n`);
      } else {
        ctx.io.out(text);
      }
      ctx.exitCode = 0;
    });
}
