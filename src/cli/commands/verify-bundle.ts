import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { AitrailError, errorMessage } from "../../errors.js";
import { verifyBundle } from "../../ledger/bundle.js";
import { readVerifierKeys } from "../../ledger/keys.js";
import type { CliContext } from "../context.js";

interface VerifyBundleOptions {
  publicKey: string;
  json?: boolean;
}

export function registerVerifyBundle(program: Command, ctx: CliContext): void {
  program
    .command("verify-bundle")
    .description("check an evidence bundle offline with only the public key: exit 0 valid, 1 invalid")
    .argument("<file>", "the bundle (JSON) written by aitrail prove")
    .requiredOption("--public-key <file-or-key>", "verifier key (<name>+<id>+<key>) or a file of them, one a line")
    .option("--json", "print the result as JSON")
    .action(async (file: string, opts: VerifyBundleOptions) => {
      const keys = await readVerifierKeys(opts.publicKey);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        throw new AitrailError("INVALID_ARGUMENT", `cannot read the bundle ${file}: ${errorMessage(err)}`);
      }
      const result = verifyBundle(text, keys);
      if (opts.json) {
        // The record stays in the bundle; the result names it by event id.
        ctx.io.out(`${JSON.stringify(result.ok ? { ...result, record: undefined } : result)}\n`);
      } else if (result.ok) {
        ctx.io.out(
          `VALID: event ${result.eventId} is entry ${result.leafIndex} of ledger ${result.origin} at tree size ${result.treeSize}, ` +
            `signed by ${result.signedBy.join(", ")} (root ${result.rootHash})\n`,
        );
      } else {
        ctx.io.out(`INVALID: ${result.code}: ${result.reason}\n`);
      }
      ctx.exitCode = result.ok ? 0 : 1;
    });
}
