/** AWS identifier shapes: account ids, access keys, unique ids, resource ids, session tokens. */
import type { Rng } from './prng.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]!;
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]!;
  return out;
}

/**
 * The 16 characters after an access-key or unique-id prefix. Real ids carry the owning
 * account in bits 46..7 of the first six decoded bytes (the well-known key-to-account
 * decoding), so every id of one account shares its first eight characters — as in real trails.
 */
function accountEncoded(accountId: string, rng: Rng): string {
  const word = (BigInt(accountId) << 7n) | BigInt(rng.int(128));
  const bytes = new Uint8Array(10);
  for (let i = 0; i < 6; i++) bytes[i] = Number((word >> BigInt(8 * (5 - i))) & 0xffn);
  for (let i = 6; i < 10; i++) bytes[i] = rng.int(256);
  return base32(bytes);
}

/** Decodes the account id from an access key id or unique id (the inverse of the encoding above). */
export function accountOfKey(keyId: string): string {
  const chars = keyId.slice(4, 14);
  let word = 0n;
  for (const c of chars) word = (word << 5n) | BigInt(BASE32.indexOf(c));
  // 10 chars = 50 bits; the first 48 are the six bytes.
  const six = word >> 2n;
  return String((six & 0x7fffffffff80n) >> 7n).padStart(12, '0');
}

export type KeyPrefix = 'ASIA' | 'AKIA' | 'AROA' | 'AIDA' | 'AIPA' | 'ANPA';

/** ASIA… / AKIA… (20 characters) or AROA… / AIDA… / AIPA… / ANPA… (21 characters). */
export function awsId(prefix: KeyPrefix, accountId: string, rng: Rng): string {
  const body = accountEncoded(accountId, rng);
  return prefix === 'ASIA' || prefix === 'AKIA' ? `${prefix}${body}` : `${prefix}${body}${rng.base32(1)}`;
}

export function accountId(rng: Rng): string {
  return rng.digits(12);
}

/** i-0…, eni-0…, subnet-0… (17 hex digits after the first '0'). */
export function resourceId(prefix: string, rng: Rng): string {
  return `${prefix}-0${rng.hex(16)}`;
}

/** vpce-f40dc59d: the short ids of AWS-owned endpoints (the S3 console, other AWS services). */
export function shortEndpointId(rng: Rng): string {
  return `vpce-${rng.hex(8)}`;
}

/** An STS session token: base64 that starts like a real one (IQoJb3JpZ2luX2Vj…), ~700+ characters. */
export function sessionToken(rng: Rng, length = 700): string {
  const body = rng.base64(length - 16 - 4);
  return `IQoJb3JpZ2luX2Vj${body}${rng.base64(3)}=`;
}

export function s3RequestId(rng: Rng): string {
  return rng.upperAlnum(16);
}

export function amzId2(rng: Rng): string {
  return `${rng.base64(74)}=`;
}
