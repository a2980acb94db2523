import type { Command } from "commander";
import { Checkpointer } from "../../ledger/checkpointer.js";
import { encodeBase64 } from "../../ledger/note.js";
import { KeyDirectory } from "../../ledger/keys.js";
import { ledgerPaths, type LedgerPaths } from "../../ledger/local.js";
import { parseStoreUrl } from "../../store/open.js";
import type { AuditStore } from "../../store/types.js";
import { storeSpec, withStore, type CliContext, type StoreOptions } from "../context.js";

/** Options every ledger command shares: where the store, the keys and the witness file are. */
export interface LedgerCliOptions extends StoreOptions {
  keys?: string;
  witness?: string | boolean;
}

export function addLedgerOptions(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--keys <dir>", "checkpoint signing key directory (default: .aitrail/ beside the database)")
    .option("--witness <file>", "witness file that every checkpoint is appended to (default: <database>.witness)")
    .option("--no-witness", "do not use a witness file");
}

export function resolveLedgerPaths(opts: LedgerCliOptions): LedgerPaths {
  const spec = parseStoreUrl(storeSpec(opts));
  return ledgerPaths({
    dbPath: spec.type === "sqlite" ? spec.path : null,
    ...(opts.keys !== undefined ? { keys: opts.keys } : {}),
    ...(opts.witness !== undefined && opts.witness !== true ? { witness: opts.witness } : {}),
  });
}

/** A checkpointer for a CLI run: keys and witness file from the options. */
export function cliCheckpointer(store: AuditStore, opts: LedgerCliOptions): Checkpointer {
  const paths = resolveLedgerPaths(opts);
  return new Checkpointer({ store, keys: new KeyDirectory(paths.keyDir), witnessFile: paths.witnessFile });
}

interface CheckpointOptions extends LedgerCliOptions {
  json?: boolean;
}

export function registerCheckpoint(program: Command, ctx: CliContext): void {
  addLedgerOptions(
    program
      .command("checkpoint")
      .description("print the latest signed checkpoint (C2SP tlog-checkpoint), signing a new one if the ledger grew"),
  )
    .option("--json", "print {treeSize, rootHash, createdAt, note} as JSON")
    .action(async (opts: CheckpointOptions) => {
      const cp = await withStore(opts, true, (store) => cliCheckpointer(store, opts).checkpoint());
      if (opts.json) {
        ctx.io.out(`${JSON.stringify({ treeSize: cp.treeSize, rootHash: encodeBase64(cp.rootHash), createdAt: cp.createdAt, note: cp.note })}\n`);
      } else {
        ctx.io.out(cp.note);
      }
    });
}
