/**
 * MurmurHash3, x86 32-bit variant, over the UTF-8 bytes of a string.
 *
 * Written out here (rather than calling `murmurhash3js`) for two reasons:
 * evaluation is on the hot path, and `murmurhash3js` hashes `charCode & 0xff`,
 * which differs from every other Unleash SDK (Java, Go, Rust/Yggdrasil) as
 * soon as a subject key has a non-ASCII character. For ASCII input both agree.
 */

const encoder = new TextEncoder();

/**
 * The 32-bit MurmurHash3 (x86) of `text`'s UTF-8 bytes, as an unsigned integer.
 *
 * @example
 * murmur3('Hello world'); // 2911983372
 */
export function murmur3(text: string, seed = 0): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return murmur3Bytes(encoder.encode(text), seed);
  }
  return murmur3Ascii(text, seed);
}

function murmur3Ascii(s: string, seed: number): number {
  const len = s.length;
  const blocks = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= s.charCodeAt(i + 2) << 16;
    // falls through
    case 2:
      k ^= s.charCodeAt(i + 1) << 8;
    // falls through
    case 1:
      k ^= s.charCodeAt(i);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
  }
  return finish(h, len);
}

function murmur3Bytes(b: Uint8Array, seed: number): number {
  const len = b.length;
  const blocks = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= b[i + 2]! << 16;
    // falls through
    case 2:
      k ^= b[i + 1]! << 8;
    // falls through
    case 1:
      k ^= b[i]!;
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
  }
  return finish(h, len);
}

function finish(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A subject's sticky bucket, 1..100: Unleash's `normalizedValue` —
 * murmur3(`"<group>:<subject>"`, seed 0) mod 100, plus 1. The group is the
 * flag key, or the exclusion group's name.
 *
 * @example
 * bucket('123', 'gr1'); // 73, as in every Unleash SDK
 */
export function bucket(subject: string, group: string): number {
  return (murmur3(`${group}:${subject}`) % 100) + 1;
}

/**
 * The hash state of `"<group>:"` computed once, so a subject's bucket costs
 * only the subject's own bytes: no string concatenation, no allocation. The
 * group's bytes that do not fill a whole 4-byte block are kept in `tail` and
 * completed by the subject's first characters.
 */
export interface BucketPrefix {
  readonly group: string;
  /** murmur3 state after the whole blocks of `"<group>:"`. */
  readonly h: number;
  /** The remaining 0–3 bytes, little-endian. */
  readonly tail: number;
  readonly tailLength: number;
  /** Byte length of `"<group>:"`. */
  readonly length: number;
}

/**
 * Precompute {@link BucketPrefix} for a flag or group key.
 *
 * @example
 * const p = bucketPrefix('gr1');
 * prefixedBucket(p, '123'); // 73, the same as bucket('123', 'gr1')
 */
export function bucketPrefix(group: string): BucketPrefix {
  const bytes = encoder.encode(`${group}:`);
  const blocks = bytes.length & ~3;
  let h = 0;
  for (let i = 0; i < blocks; i += 4) h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  let tail = 0;
  for (let i = blocks; i < bytes.length; i++) tail |= bytes[i]! << (8 * (i - blocks));
  return { group, h, tail, tailLength: bytes.length & 3, length: bytes.length };
}

/**
 * {@link bucket} of `subject` under a precomputed prefix: the same value,
 * several times faster (the hot path of a partial rollout). Subjects with
 * non-ASCII characters take the UTF-8 path of {@link bucket}.
 *
 * @example
 * prefixedBucket(bucketPrefix('checkout.v2'), 'user-42'); // === bucket('user-42', 'checkout.v2')
 */
export function prefixedBucket(p: BucketPrefix, s: string): number {
  const len = s.length;
  let h = p.h;
  let k = p.tail;
  let n = p.tailLength; // bytes pending in k
  let wide = 0; // OR of every char code: > 0x7f means the ASCII shortcut does not apply
  let i = 0;
  if (n !== 0) {
    while (n < 4 && i < len) {
      const c = s.charCodeAt(i++);
      wide |= c;
      k |= c << (8 * n++);
    }
    if (n === 4) {
      h = mixBlock(h, k);
      k = 0;
      n = 0;
    }
  }
  if (n === 0) {
    const blocks = i + ((len - i) & ~3);
    for (; i < blocks; i += 4) {
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const c = s.charCodeAt(i + 2);
      const d = s.charCodeAt(i + 3);
      wide |= a | b | c | d;
      h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
    }
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      wide |= c;
      k |= c << (8 * n++);
    }
  }
  if (wide > 0x7f) return bucket(s, p.group);
  if (n !== 0) {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  return (finish(h, p.length + len) % 100) + 1;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
