import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { Recorder } from "../../pipeline/recorder.js";
import { Keyring } from "../../privacy/keyring/keyring.js";
import { MASTER_KEY_ENV, MASTER_KEY_FILE, loadKeyFile } from "../../privacy/keyring/provider.js";
import { subjectKeyStoreFor } from "../../privacy/open.js";
import { withStore, type CliContext } from "../context.js";
import { keyDirFor, type PrivacyCliOptions } from "../privacy.js";

interface RotateOptions extends PrivacyCliOptions {
  json?: boolean;
}

export const NEXT_KEY_FILE = `${MASTER_KEY_FILE}.next`;

export function registerMasterKey(program: Command, ctx: CliContext): void {
  const cmd = program.command("master-key").description("the master key that wraps every data subject's key");
  cmd
    .command("rotate")
    .description("rewrap every subject key under a new master key (events are not touched), then replace master.key")
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--key-dir <dir>", "directory holding master.key (default .aitrail/ beside the database)")
    .option("--keys <dir>", "the key directory, as the ledger commands name it (same as --key-dir)")
    .option("--json", "print the result as JSON")
    .action(async (opts: RotateOptions) => {
      if (process.env[MASTER_KEY_ENV]) {
        throw new AitrailError(
          "INVALID_ARGUMENT",
          `the master key comes from ${MASTER_KEY_ENV}; rotate it with keyring.rotate(newProvider) and then change the variable`,
        );
      }
      const keyDir = keyDirFor(opts);
      if (!keyDir) throw new AitrailError("INVALID_ARGUMENT", "--key-dir is required for this store");
      const currentFile = path.join(keyDir, MASTER_KEY_FILE);
      const nextFile = path.join(keyDir, NEXT_KEY_FILE);
      const current = loadKeyFile(currentFile, false);
      // A rotation cut short left master.key.next behind: resume with it.
      const resumed = fs.existsSync(nextFile);
      const next = loadKeyFile(nextFile, true);
      const result = await withStore(opts, true, async (store) => {
        const keyring = await Keyring.open({ provider: next, previousProviders: [current], store: subjectKeyStoreFor(store) });
        try {
          const r = await keyring.rotate(next);
          const recorder = new Recorder({ store });
          const recorded = await recorder.record({
            type: "key.rotated",
            action: "master-key.rotate",
            status: "success",
            details: { key: "master", from: current.keyId, to: next.keyId, rewrapped: r.rewrapped, unchanged: r.unchanged, resumed },
          });
          await recorder.close();
          return { ...r, from: current.keyId, eventId: recorded.eventId };
        } finally {
          keyring.close();
        }
      });
      fs.renameSync(nextFile, currentFile);
      current.destroy();
      next.destroy();
      if (opts.json) ctx.io.out(`${JSON.stringify(result)}\n`);
      else ctx.io.out(`master key rotated: ${result.from} -> ${result.to}; ${result.rewrapped} subject key(s) rewrapped; recorded as ${result.eventId}\n`);
    });
}
