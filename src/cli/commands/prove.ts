import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { createBundle, verifyBundle } from "../../ledger/bundle.js";
import { parseVerifierKey } from "../../ledger/note.js";
import { inclusionProofAt } from "../../ledger/tree.js";
import { withStore, type CliContext } from "../context.js";
import { addLedgerOptions, cliCheckpointer, resolveLedgerPaths, type LedgerCliOptions } from "./checkpoint.js";
import { KeyDirectory } from "../../ledger/keys.js";

interface ProveOptions extends LedgerCliOptions {
  out?: string;
}

export function registerProve(program: Command, ctx: CliContext): void {
  addLedgerOptions(
    program
      .command("prove")
      .description("write an evidence bundle for one event: the record, its inclusion proof and a signed checkpoint")
      .argument("<eventId>", "the event to prove"),
  )
    .option("--out <file>", "write the bundle here instead of stdout")
    .action(async (eventId: string, opts: ProveOptions) => {
      const bundle = await withStore(opts, true, async (store) => {
        const entry = await store.getByEventId(eventId);
        if (!entry) throw new AitrailError("NOT_FOUND", `no event ${eventId} in ${store.location}`, { details: { eventId } });
        const cp = await cliCheckpointer(store, opts).checkpoint();
        return createBundle({
          record: entry.canonical,
          eventId: entry.eventId,
          leafIndex: entry.seq,
          treeSize: cp.treeSize,
          inclusionProof: await inclusionProofAt(store, entry.seq, cp.treeSize),
          checkpoint: cp.note,
        });
      });
      // Never hand out a bundle that does not verify.
      const key = await new KeyDirectory(resolveLedgerPaths(opts).keyDir).exportPublic();
      const check = verifyBundle(bundle, [parseVerifierKey(key)]);
      if (!check.ok) {
        throw new AitrailError("INTEGRITY_VIOLATION", `the bundle for ${eventId} does not verify (${check.code}: ${check.reason}); run aitrail verify`);
      }
      const json = `${JSON.stringify(bundle, null, 2)}\n`;
      if (opts.out) {
        await writeFile(opts.out, json);
        ctx.io.err(`wrote the evidence bundle for ${eventId} (leaf ${bundle.leafIndex} of ${bundle.treeSize}) to ${opts.out}\n`);
      } else {
        ctx.io.out(json);
      }
    });
}
