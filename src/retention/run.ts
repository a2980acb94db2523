/**
 * A retention run: find the expired prefix of the ledger, archive it, verify the archive,
 * record the purge in the ledger, then delete the prefix.
 *
 * Only a prefix can go, so that the live ledger keeps verifying from an anchor (the first
 * seq kept and the chain hash before it). The prefix ends at the first entry that must be
 * kept: its retention has not run out, no rule covers it, or a legal hold covers it; every
 * later entry is kept with it, and the report names the entry and the reason.
 *
 * Order (each step safe to crash after): archive written to a temporary directory, fsync'd
 * and renamed; archive verified on its own and against the live ledger; a `retention.purged`
 * event naming the anchor and the archive appended; the prefix deleted and the anchor stored
 * in one transaction. A rerun after a crash reuses the verified archive and the event.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { AitrailError } from "../errors.js";
import { canonicalize } from "../event/canonical.js";
import { parseEventInput, type AuditEvent, type AuditEventInput } from "../event/schema.js";
import { ORIGIN_META_KEY } from "../ledger/checkpointer.js";
import { equalBytes, leafHash, toHex } from "../ledger/hash.js";
import { frontierKeys } from "../ledger/seal.js";
import { consistencyProofAt } from "../ledger/tree.js";
import { readAnchor } from "../store/anchor.js";
import { columnsOf } from "../store/columns.js";
import type { AuditStore, StorePurge } from "../store/types.js";
import { archiveName, verifyArchive, writeArchive, type ArchiveManifest, type ArchiveVerifyResult } from "./archive.js";
import { changeHolds, describeHold, holdCovers, HOLDS_META_KEY, listHolds, makeHold, parseHolds, type HoldInput, type LegalHold } from "./holds.js";
import { parsePolicy, retentionFor, type RetentionPolicy } from "./policy.js";

export const POLICY_META_KEY = "retention.policy";

export type RetentionStore = AuditStore & StorePurge;

/** Records a ledger event (the Recorder's record, or a direct append). */
export type RecordFn = (input: AuditEventInput) => Promise<{ eventId: string }>;

/** Appends one event straight to the store (for tools that run without a Recorder). */
export function directRecorder(store: AuditStore, clock: () => Date = () => new Date()): RecordFn {
  return async (input) => {
    const event = parseEventInput(input, clock());
    const canonical = canonicalize(event);
    const [stored] = await store.append([{ eventId: event.eventId, canonical, leafHash: leafHash(canonical), columns: columnsOf(event) }]);
    return { eventId: stored!.eventId };
  };
}

export async function readPolicy(store: Pick<AuditStore, "getMeta">): Promise<RetentionPolicy | null> {
  const text = await store.getMeta(POLICY_META_KEY);
  return text === null ? null : parsePolicy(JSON.parse(text));
}

/** Stores the policy and records the change in the ledger. */
export async function setPolicy(store: AuditStore, input: unknown, record: RecordFn = directRecorder(store)): Promise<RetentionPolicy> {
  const policy = parsePolicy(input);
  await store.setMeta(POLICY_META_KEY, JSON.stringify(policy));
  await record({ type: "custom.retention.policy", details: { policy: policy as unknown as Record<string, unknown> } });
  return policy;
}

/** Places a legal hold; the ledger event names the hold, its kind and reason, not its subject. */
export async function placeHold(store: AuditStore, input: HoldInput, options: { now?: Date; record?: RecordFn } = {}): Promise<LegalHold> {
  const hold = makeHold(input, options.now);
  await changeHolds(store, (holds) => [...holds, hold]);
  await (options.record ?? directRecorder(store))({ type: "custom.retention.hold", details: { action: "placed", holdId: hold.id, kind: hold.kind, reason: hold.reason } });
  return hold;
}

export async function releaseHold(store: AuditStore, id: string, options: { record?: RecordFn } = {}): Promise<LegalHold> {
  let released: LegalHold | undefined;
  await changeHolds(store, (holds) => {
    released = holds.find((h) => h.id === id);
    if (!released) throw new AitrailError("NOT_FOUND", `no legal hold ${id}`);
    return holds.filter((h) => h.id !== id);
  });
  // changeHolds resolved, so the change ran and found the hold.
  const hold = released!;
  await (options.record ?? directRecorder(store))({ type: "custom.retention.hold", details: { action: "released", holdId: hold.id, kind: hold.kind, reason: hold.reason } });
  return hold;
}

export interface StopReason {
  seq: number;
  eventId: string;
  timestamp: string;
  reason: "retained" | "no-rule" | "legal-hold" | "limit";
  detail: string;
}

export interface RetentionPlan {
  fromSeq: number;
  /** One past the last entry to purge; equal to fromSeq when nothing is due. */
  toSeq: number;
  count: number;
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  /** The first entry kept, and why (null when the whole ledger is due). */
  stoppedAt: StopReason | null;
  /** How many purged entries each rule released ("SOC2 365d": 120, ...). */
  rules: Record<string, number>;
  holds: number;
  /** The holds this plan respected. */
  holdIds: string[];
}

export interface RetentionOptions {
  store: RetentionStore;
  /** The policy; default: the one stored with setPolicy. */
  policy?: RetentionPolicy;
  now?: Date;
  /** Most entries one run purges. */
  maxEvents?: number;
}

/** Works out what a run would purge, without writing anything. */
export async function planRetention(options: RetentionOptions): Promise<RetentionPlan> {
  const store = options.store;
  const policy = options.policy ?? (await readPolicy(store));
  if (!policy) throw new AitrailError("INVALID_CONFIG", `${store.location}: no retention policy is set (aitrail retention policy --framework ...)`);
  const now = options.now ?? new Date();
  const holds = await listHolds(store);
  const anchor = await readAnchor(store);
  const max = options.maxEvents ?? Number.MAX_SAFE_INTEGER;
  const plan: RetentionPlan = { fromSeq: anchor.seq, toSeq: anchor.seq, count: 0, firstTimestamp: null, lastTimestamp: null, stoppedAt: null, rules: {}, holds: holds.length, holdIds: holds.map((h) => h.id) };
  for await (const entry of store.scan({ fromSeq: anchor.seq })) {
    const event = JSON.parse(entry.canonical) as AuditEvent;
    const stop = (reason: StopReason["reason"], detail: string): StopReason => ({ seq: entry.seq, eventId: entry.eventId, timestamp: event.timestamp, reason, detail });
    if (plan.count >= max) {
      plan.stoppedAt = stop("limit", `this run purges at most ${max} entries`);
      break;
    }
    const decision = retentionFor(event, policy);
    if (decision.until === null) {
      plan.stoppedAt = stop("no-rule", "no framework, purpose or default period covers this event, so it is kept");
      break;
    }
    if (decision.until > now) {
      plan.stoppedAt = stop("retained", `kept until ${decision.until.toISOString()} (${decision.basis})`);
      break;
    }
    const hold = holds.find((h) => holdCovers(h, event));
    if (hold) {
      plan.stoppedAt = stop("legal-hold", describeHold(hold));
      break;
    }
    plan.rules[decision.basis!] = (plan.rules[decision.basis!] ?? 0) + 1;
    plan.firstTimestamp ??= event.timestamp;
    plan.lastTimestamp = event.timestamp;
    plan.count += 1;
    plan.toSeq = entry.seq + 1;
  }
  return plan;
}

export interface RetentionRunOptions extends RetentionOptions {
  /** Where archives go (cold storage); one sub-directory per run. */
  archiveDir: string;
  dryRun?: boolean;
  /** Signs a checkpoint of the current tree, used when no stored checkpoint covers the range. */
  checkpoint?: () => Promise<unknown>;
  /** How the retention.purged event is recorded; default: appended directly. */
  record?: RecordFn;
}

export interface RetentionReport extends RetentionPlan {
  dryRun: boolean;
  archive: { path: string; manifestSha256: string; checkpoint: ArchiveVerifyResult["checkpoint"] } | null;
  deleted: number;
  purgeEventId: string | null;
}

export async function runRetention(options: RetentionRunOptions): Promise<RetentionReport> {
  const store = options.store;
  const now = options.now ?? new Date();
  const plan = await planRetention({ ...options, now });
  const report: RetentionReport = { ...plan, dryRun: options.dryRun ?? false, archive: null, deleted: 0, purgeEventId: null };
  if (plan.count === 0 || options.dryRun) return report;

  // The chain hash that will anchor the live ledger: entry toSeq-1.
  let endChain: Uint8Array | null = null;
  for await (const e of store.scan({ fromSeq: plan.toSeq - 1, toSeq: plan.toSeq })) endChain = e.chainHash;
  if (!endChain) throw new AitrailError("STORE_CORRUPT", `${store.location}: entry ${plan.toSeq - 1} vanished during the retention run`);
  const anchor = await readAnchor(store);

  // A signed checkpoint that covers the range ties the archive to the signed tree.
  const covering = async () => (await store.listCheckpoints()).find((c) => c.treeSize >= plan.toSeq) ?? null;
  let cp = await covering();
  if (!cp && options.checkpoint) {
    await options.checkpoint();
    cp = await covering();
  }

  const name = archiveName(plan.fromSeq, plan.toSeq);
  const target = path.join(options.archiveDir, name);
  let archivePath: string;
  const exists = await fs
    .access(path.join(target, "manifest.json"))
    .then(() => true)
    .catch(() => false);
  if (exists) {
    // A run that crashed after archiving: reuse the archive if it is whole.
    archivePath = target;
  } else {
    const written = await writeArchive(options.archiveDir, {
      fromSeq: plan.fromSeq,
      startChainHash: anchor.chainHash,
      frontierBefore: plan.fromSeq > 0 ? await store.getNodes(frontierKeys(plan.fromSeq)) : [],
      entries: (async function* () {
        for await (const e of store.scan({ fromSeq: plan.fromSeq, toSeq: plan.toSeq })) yield { seq: e.seq, eventId: e.eventId, canonical: e.canonical, chainHash: e.chainHash };
      })(),
      checkpoint: cp
        ? async (_root, toSeq): Promise<ArchiveManifest["checkpoint"]> => ({
            note: cp.note,
            treeSize: cp.treeSize,
            consistencyProof: (await consistencyProofAt(store, toSeq, cp.treeSize)).map(toHex),
          })
        : null,
      source: { store: store.location, origin: await store.getMeta(ORIGIN_META_KEY) },
      reason: { rules: plan.rules, stoppedAt: plan.stoppedAt, holds: plan.holds },
      now,
    });
    archivePath = written.path;
  }

  const check = await verifyArchive(archivePath);
  const m = check.manifest;
  if (!check.ok || !m) throw new AitrailError("ARCHIVE_INVALID", `the archive ${archivePath} does not verify (${check.problem}); nothing was deleted`);
  if (m.fromSeq !== plan.fromSeq || m.toSeq !== plan.toSeq || m.startChainHash !== toHex(anchor.chainHash) || !equalBytes(Buffer.from(m.endChainHash, "hex"), endChain)) {
    throw new AitrailError("ARCHIVE_INVALID", `the archive ${archivePath} does not match the live ledger (seq ${m.fromSeq}..${m.toSeq}); nothing was deleted`);
  }
  report.archive = { path: archivePath, manifestSha256: check.manifestSha256!, checkpoint: check.checkpoint };

  // A hold placed since the plan was made may cover what is about to go. It is looked for now,
  // before the purge event is written, and again inside the purge's transaction, under the
  // lock placeHold takes: a new hold stops the run with nothing deleted.
  const planned = new Set(plan.holdIds);
  const refuseNewHolds = (value: string | null): void => {
    const added = parseHolds(value, store.location).filter((h) => !planned.has(h.id));
    if (added.length === 0) return;
    throw new AitrailError(
      "LEGAL_HOLD",
      `${added.map(describeHold).join("; ")} was placed during this retention run; nothing was deleted (the archive ${archivePath} stays${
        report.purgeEventId ? `; the retention.purged event ${report.purgeEventId} names a purge that did not take place` : ""
      }); run retention again`,
      { details: { holds: added.map((h) => h.id), purgeEventId: report.purgeEventId } },
    );
  };
  refuseNewHolds(await store.getMeta(HOLDS_META_KEY));

  // The purge event names the anchor: verify trusts the anchor only because of it.
  const anchorDetails = { seq: plan.toSeq, chainHash: toHex(endChain) };
  const previous = (await store.findEvents({ type: "retention.purged", limit: 20, order: "desc" })).find((e) => {
    const d = (JSON.parse(e.canonical) as AuditEvent).details as { anchor?: { seq?: number; chainHash?: string } } | undefined;
    return d?.anchor?.seq === anchorDetails.seq && d.anchor.chainHash === anchorDetails.chainHash;
  });
  if (previous) {
    report.purgeEventId = previous.eventId;
  } else {
    const record = options.record ?? directRecorder(store, () => now);
    const r = await record({
      type: "retention.purged",
      details: {
        anchor: anchorDetails,
        archive: { name, manifestSha256: check.manifestSha256!, segmentSha256: m.segment.sha256, fromSeq: m.fromSeq, toSeq: m.toSeq, count: m.count },
        firstTimestamp: plan.firstTimestamp,
        lastTimestamp: plan.lastTimestamp,
        rules: plan.rules,
      },
    });
    report.purgeEventId = r.eventId;
  }
  const { deleted } = await store.purgePrefix({ seq: plan.toSeq, chainHash: endChain }, { metaKey: HOLDS_META_KEY, check: refuseNewHolds });
  report.deleted = deleted;
  return report;
}
