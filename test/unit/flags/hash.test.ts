import fc from 'fast-check';
import murmurhash3js from 'murmurhash3js';
import { describe, expect, it } from 'vitest';
import { bucket, bucketPrefix, murmur3, prefixedBucket } from '../../../src/flags/hash.js';

describe('murmur3 and the sticky bucket', () => {
  it("matches Unleash's published normalizedValue vectors", () => {
    // unleash-client-node/java/go: "normalized values are the same across node, java, and go clients"
    expect(bucket('123', 'gr1')).toBe(73);
    expect(bucket('999', 'groupX')).toBe(25);
  });

  it("agrees with Unleash's client-specification 03 (50% of AB12A: 122 in, 155 out)", () => {
    expect(bucket('122', 'AB12A')).toBeLessThanOrEqual(50);
    expect(bucket('155', 'AB12A')).toBeGreaterThan(50);
  });

  it('matches the reference MurmurHash3 x86_32 values', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('Hello world')).toBe(2911983372);
    expect(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('equals murmurhash3js (what unleash-client-node uses) on every ASCII string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[\x80-\xff]/g, '')), fc.integer({ min: 0, max: 2 ** 31 }), (s, seed) => {
        expect(murmur3(s, seed)).toBe(murmurhash3js.x86.hash32(s, seed));
      }),
    );
  });

  it('hashes non-ASCII subjects by their UTF-8 bytes, like the Java and Go SDKs', () => {
    const bytes = Buffer.from('héllo', 'utf8').toString('latin1'); // one char per byte
    expect(murmur3('héllo')).toBe(murmurhash3js.x86.hash32(bytes, 0));
  });

  it('buckets are 1..100', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (subject, group) => {
        const b = bucket(subject, group);
        expect(b).toBeGreaterThanOrEqual(1);
        expect(b).toBeLessThanOrEqual(100);
      }),
    );
  });
});

describe('the precomputed prefix', () => {
  it('gives exactly the bucket of "<group>:<subject>", for any group and subject (ASCII or not)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 30 }), (group, subject) => {
        expect(prefixedBucket(bucketPrefix(group), subject)).toBe(bucket(subject, group));
      }),
      { numRuns: 2000 },
    );
    // every alignment of prefix and subject
    for (const group of ['', 'a', 'ab', 'abc', 'abcd', 'gr1']) {
      for (const subject of ['', '1', '12', '123', '1234', '12345', 'hé', '😀x']) expect(prefixedBucket(bucketPrefix(group), subject)).toBe(bucket(subject, group));
    }
    expect(prefixedBucket(bucketPrefix('gr1'), '123')).toBe(73); // Unleash's vector
  });
});
