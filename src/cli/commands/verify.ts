import type { Command } from "commander";
import { readVerifierKeys } from "../../ledger/keys.js";
import { prepareLedgerVerify, type LedgerVerifyResult } from "../../ledger/ledger-verify.js";
import { readAnchor } from "../../store/anchor.js";
import { verifyStore } from "../../store/verify.js";
import type { VerifierKey } from "../../ledger/note.js";
import { verifyArchiveDir } from "../../retention/archive.js";
import { Progress, withStore, type CliContext } from "../context.js";
import { addLedgerOptions, resolveLedgerPaths, type LedgerCliOptions } from "./checkpoint.js";

interface VerifyOptions extends LedgerCliOptions {
  json?: boolean;
  publicKey?: string;
  archive?: string;
}

export function registerVerify(program: Command, ctx: CliContext): void {
  addLedgerOptions(
    program
      .command("verify")
      .description(
        "recompute every hash, column and Merkle root, check every signed checkpoint and the witness file; exit 1 naming the first bad seq",
      ),
  )
    .option("--public-key <file-or-key>", "trust only these verifier keys (an auditor's copy) instead of the key directory")
    .option("--json", "print the result as JSON")
    .option("--archive <dir>", "verify a retention archive (or a directory of archives) on its own, without the store")
    .action(async (opts: VerifyOptions) => {
      const trusted = opts.publicKey ? await readVerifierKeys(opts.publicKey) : undefined;
      if (opts.archive !== undefined) {
        await verifyArchives(ctx, opts.archive, trusted, opts.json ?? false);
        return;
      }
      const paths = resolveLedgerPaths(opts);
      const result = await withStore(opts, true, async (store) => {
        const head = await store.head();
        const ledger = await prepareLedgerVerify(store, {
          keyDir: paths.keyDir,
          witnessFile: paths.witnessFile,
          fromSeq: (await readAnchor(store)).seq,
          ...(trusted ? { trusted } : {}),
        });
        const progress = new Progress(ctx.io, "verify", head.size);
        const started = performance.now();
        const r = await verifyStore(store, { onLeaf: (leaf, seq) => ledger.add(leaf, seq), onProgress: (n) => progress.update(n) });
        const l: LedgerVerifyResult | null = r.ok ? await ledger.finish() : null;
        progress.done();
        return { store: r, ledger: l, seconds: (performance.now() - started) / 1000 };
      });
      const { store: s, ledger: l } = result;
      const ok = s.ok && (l?.ok ?? false);
      const report = {
        ok,
        events: s.events,
        firstBadSeq: s.ok ? (l?.ok ? null : (l?.firstBadSeq ?? null)) : s.firstBadSeq,
        problem: s.ok ? (l?.ok ? null : (l?.problem ?? null)) : s.problem,
        detail: s.ok ? (l?.ok ? null : (l?.detail ?? null)) : s.detail,
        ...(l ? { merkle: { treeSize: l.size, rootHash: l.rootHash, checkpoints: l.checkpoints, witnessedSize: l.witnessedSize } } : {}),
      };
      if (opts.json) {
        ctx.io.out(`${JSON.stringify(report)}\n`);
      } else if (ok && l) {
        const rate = Math.round(s.events / Math.max(result.seconds, 1e-6));
        const witness = l.witnessedSize === null ? "no witness file" : `witness at size ${l.witnessedSize}`;
        ctx.io.out(
          `OK: ${s.events} events verified (chain, leaf hashes, columns, Merkle root ${l.rootHash}, ` +
            `${l.checkpoints} signed checkpoint(s), ${witness}) in ${result.seconds.toFixed(2)}s (${rate} events/s)\n`,
        );
      } else {
        const where = report.firstBadSeq === null ? "" : ` at seq ${report.firstBadSeq}`;
        ctx.io.out(`FAILED${where}: ${report.problem}: ${report.detail}\n`);
      }
      ctx.exitCode = ok ? 0 : 1;
    });
}

async function verifyArchives(ctx: CliContext, dir: string, trusted: VerifierKey[] | undefined, json: boolean): Promise<void> {
  const r = await verifyArchiveDir(dir, trusted ? { trusted } : {});
  const report = {
    ok: r.ok,
    problem: r.problem,
    archives: r.archives.map((a) => ({ path: a.path, ok: a.ok, fromSeq: a.fromSeq, toSeq: a.toSeq, count: a.count, checkpoint: a.checkpoint, problem: a.problem })),
  };
  if (json) {
    ctx.io.out(`${JSON.stringify(report)}\n`);
  } else if (r.ok) {
    const events = r.archives.reduce((s, a) => s + a.count, 0);
    const cps = r.archives.filter((a) => a.checkpoint !== "none").length;
    const signed = trusted ? "signatures checked" : "no verifier key given: signatures not checked";
    ctx.io.out(
      `OK: ${r.archives.length} archive(s), ${events} events (seq ${r.archives[0]!.fromSeq}..${r.archives.at(-1)!.toSeq! - 1}): ` +
        `segment hashes, leaf hashes, chain, Merkle root; ${cps} covered by a checkpoint (${signed})\n`,
    );
  } else {
    ctx.io.out(`FAILED: ${r.problem}\n`);
  }
  ctx.exitCode = r.ok ? 0 : 1;
}
