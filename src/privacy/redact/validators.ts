/** Checksums and shape checks that tell real identifiers from numbers that merely look like them. */
import { isIPv6 } from "node:net";

/** Luhn (ISO/IEC 7812-1) check over the digits of `text`. */
export function luhnValid(text: string): boolean {
  const digits = text.replace(/\D/g, "");
  if (digits.length < 12) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: length 15..34, two letters, two check digits, mod 97 = 1. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** US SSN shape rules: area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== "000" && area !== "666" && area[0] !== "9" && group !== "00" && serial !== "0000";
}

export function ipv4Valid(text: string): boolean {
  const parts = text.split(".");
  return (
    parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255 && (p.length === 1 || p[0] !== "0"))
  );
}

export function ipv6Valid(text: string): boolean {
  const zone = text.indexOf("%");
  const address = zone >= 0 ? text.slice(0, zone) : text;
  return (address.match(/:/g)?.length ?? 0) >= 2 && /[0-9A-Fa-f]/.test(address) && isIPv6(address);
}

const NANP = /^(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}$/;
const TRUNK = /^\(?0[1-9]\d{0,3}\)?(?:[\s.-]?\d{2,4}){2,5}$/;
const INTERNATIONAL = /^\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,7}$/;

/**
 * Phone numbers in the written forms people use: international (+CC ...), North American
 * ((555) 123-4567, 555-123-4567), and national numbers with a trunk prefix (020 7946 0958,
 * 06 12 34 56 78). A bare run of digits is not a phone number here: too many ids look alike.
 */
export function phoneValid(text: string): boolean {
  const digits = text.replace(/\D/g, "").length;
  if (text.startsWith("+")) return digits >= 8 && digits <= 15 && INTERNATIONAL.test(text);
  if (NANP.test(text)) return true;
  return digits >= 9 && digits <= 12 && TRUNK.test(text);
}
