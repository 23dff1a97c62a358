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
