import { chmod, writeFile } from "node:fs/promises";
import os from "node:os";
import type { Command } from "commander";
import { AitrailError } from "../../errors.js";
import { createBundle, verifyBundle } from "../../ledger/bundle.js";
import { KeyDirectory } from "../../ledger/keys.js";
import { parseVerifierKey } from "../../ledger/note.js";
import { inclusionProofAt } from "../../ledger/tree.js";
import { Recorder } from "../../pipeline/recorder.js";
import { withStore, type CliContext } from "../context.js";
import { addLedgerOptions, cliCheckpointer, resolveLedgerPaths, type LedgerCliOptions } from "./checkpoint.js";

interface ProveOptions extends LedgerCliOptions {
  out?: string;
  reader?: string;
}

export function registerProve(program: Command, ctx: CliContext): void {
  addLedgerOptions(
    program
      .command("prove")
      .description("write an evidence bundle for one event: the record, its inclusion proof and a signed checkpoint; the export is audited")
      .argument("<eventId>", "the event to prove"),
  )
    .option("--out <file>", "write the bundle to this file (mode 0600) instead of stdout")
    .option("--reader <name>", "who exports, recorded in the audit.read event (default cli:<os user>)")
    .action(async (eventId: string, opts: ProveOptions) => {
      const reader = opts.reader ?? `cli:${os.userInfo().username}`;
      const { bundle, readEventId } = await withStore(opts, true, async (store) => {
        const entry = await store.getByEventId(eventId);
        if (!entry) throw new AitrailError("NOT_FOUND", `no event ${eventId} in ${store.location}`, { details: { eventId } });
        // The export is a read of the trail: record it first, so the checkpoint covers it too.
        const recorder = new Recorder({ store });
        const read = await recorder.record({
          type: "audit.read",
          action: "evidence-export",
          status: "success",
          details: { reader, scope: "evidence-bundle", eventId: entry.eventId, leafIndex: entry.seq },
        });
        await recorder.close();
        const cp = await cliCheckpointer(store, opts).checkpoint();
        return {
          readEventId: read.eventId,
          bundle: createBundle({
            record: entry.canonical,
            eventId: entry.eventId,
            leafIndex: entry.seq,
            treeSize: cp.treeSize,
            inclusionProof: await inclusionProofAt(store, entry.seq, cp.treeSize),
            checkpoint: cp.note,
          }),
        };
      });
      // Never hand out a bundle that does not verify.
      const key = await new KeyDirectory(resolveLedgerPaths(opts).keyDir).exportPublic();
      const check = verifyBundle(bundle, [parseVerifierKey(key)]);
      if (!check.ok) {
        throw new AitrailError("INTEGRITY_VIOLATION", `the bundle for ${eventId} does not verify (${check.code}: ${check.reason}); run aitrail verify`);
      }
      const json = `${JSON.stringify(bundle, null, 2)}\n`;
      if (opts.out) {
        await writeFile(opts.out, json, { mode: 0o600 });
        await chmod(opts.out, 0o600);
        ctx.io.err(`wrote the evidence bundle for ${eventId} (entry ${bundle.leafIndex} of ${bundle.treeSize}) to ${opts.out}; export recorded as ${readEventId}\n`);
      } else {
        ctx.io.out(json);
      }
    });
}
