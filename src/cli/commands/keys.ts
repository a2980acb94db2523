import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { ledgerOrigin } from "../../ledger/checkpointer.js";
import { KeyDirectory } from "../../ledger/keys.js";
import { withStore, type CliContext } from "../context.js";
import { resolveLedgerPaths, type LedgerCliOptions } from "./checkpoint.js";

function addKeyOptions(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite database file", "aitrail.db")
    .option("--store <url>", "store URL (sqlite:<path> or postgres://...); overrides --db")
    .option("--keys <dir>", "checkpoint signing key directory (default: .aitrail/ beside the database)");
}

/** The key directory's signer, created on first use under the ledger's origin. */
async function currentSigner(opts: LedgerCliOptions) {
  const keys = new KeyDirectory(resolveLedgerPaths(opts).keyDir);
  const existing = await keys.load();
  if (existing) return { keys, signer: existing };
  const signer = await withStore(opts, true, async (store) => keys.signer(await ledgerOrigin(store)));
  return { keys, signer };
}

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command("keys").description("the checkpoint signing key");
  addKeyOptions(keys.command("export-public").description("print the verifier key (C2SP note format: <name>+<key id>+<key>)")).action(
    async (opts: LedgerCliOptions) => {
      const { signer } = await currentSigner(opts);
      ctx.io.out(`${signer.verifierKey}\n`);
    },
  );
  addKeyOptions(keys.command("list").description("print every verifier key this key directory signed with, oldest first")).action(
    async (opts: LedgerCliOptions) => {
      const { keys: dir } = await currentSigner(opts);
      for (const k of await dir.verifierKeys()) ctx.io.out(`${k.text}\n`);
    },
  );
  addKeyOptions(
    keys.command("rotate").description("replace the signing key; old verifier keys stay listed so old checkpoints still verify"),
  ).action(async (opts: LedgerCliOptions) => {
    const { keys: dir } = await currentSigner(opts);
    const { signer, retired } = await dir.rotate();
    ctx.io.err(`retired ${retired?.text ?? "(none)"}\n`);
    ctx.io.out(`${signer.verifierKey}\n`);
  });
  keys.action(() => {
    throw new AitrailError("INVALID_ARGUMENT", "aitrail keys needs a subcommand: export-public, list, rotate");
  });
}
