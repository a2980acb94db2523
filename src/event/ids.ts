import { monotonicFactory } from "ulid";

const nextUlid = monotonicFactory();

/** `evt_` + a ULID: time-sortable, unique, 26 Crockford base32 characters. */
export function newEventId(now: number = Date.now()): string {
  return `evt_${nextUlid(now)}`;
}

export const EVENT_ID_PATTERN = /^evt_[0-9A-HJKMNP-TV-Z]{26}$/;
