/**
 * Call timings on a diagnostics channel (node:diagnostics_channel), for tracing and
 * benchmarks. Nothing is built or published unless someone subscribes.
 *
 *   import { subscribe } from "node:diagnostics_channel";
 *   subscribe("aitrail:client:call", (m) => console.log(m));
 */
import { channel } from "node:diagnostics_channel";

export const CALL_CHANNEL = "aitrail:client:call";

export interface CallTiming {
  eventId: string;
  type: "ai.generate" | "ai.stream";
  provider: string;
  model: string;
  status: "success" | "error" | "cancelled";
  failMode: "open" | "closed";
  /** Milliseconds inside the provider call (the AI SDK request and response). */
  providerMs: number;
  /** Milliseconds of auditing around it: validation before, event and write (commit in closed mode) after. */
  auditMs: number;
}

const callChannel = channel(CALL_CHANNEL);

export function timingWanted(): boolean {
  return callChannel.hasSubscribers;
}

export function publishTiming(timing: CallTiming): void {
  if (callChannel.hasSubscribers) callChannel.publish(timing);
}
