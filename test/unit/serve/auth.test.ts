import { describe, expect, it } from 'vitest';
import { Authenticator, isLoopbackAddress, isLoopbackHost, presentedKey } from '../../../src/serve/auth.js';
import { flagChannel } from '../../../src/store/channel.js';

const keys = [
  { name: 'ops', key: 'admin-secret-0123456789', role: 'admin' as const },
  { name: 'viewer', key: 'read-secret-0123456789', role: 'read' as const },
];

describe('keys and roles', () => {
  it('resolves each key to its name and role, from Bearer, X-API-Key or Basic', () => {
    const auth = new Authenticator(keys);
    expect(auth.resolve({ authorization: 'Bearer admin-secret-0123456789' }, '192.0.2.7')).toEqual({ name: 'ops', role: 'admin' });
    expect(auth.resolve({ 'x-api-key': 'read-secret-0123456789' }, '192.0.2.7')).toEqual({ name: 'viewer', role: 'read' });
    const basic = `Basic ${Buffer.from('anyone:read-secret-0123456789').toString('base64')}`;
    expect(auth.resolve({ authorization: basic }, '127.0.0.1')).toEqual({ name: 'viewer', role: 'read' });
  });

  it('needs a key from everyone once keys exist, loopback included', () => {
    const auth = new Authenticator(keys);
    expect(auth.resolve({}, '127.0.0.1')).toEqual({ problem: 'missing' });
    expect(auth.resolve({ authorization: 'Bearer admin-secret-012345678' }, '127.0.0.1')).toEqual({ problem: 'invalid' });
    expect(presentedKey({ authorization: 'Basic ' + Buffer.from('user:').toString('base64') })).toBeUndefined();
  });

  it('without keys: loopback only, read-only unless insecure admin', () => {
    expect(new Authenticator([]).resolve({}, '::ffff:127.0.0.1')).toEqual({ name: 'loopback', role: 'read' });
    expect(new Authenticator([]).resolve({}, '192.0.2.7')).toEqual({ problem: 'not-loopback' });
    expect(new Authenticator([], { insecureAdmin: true }).resolve({}, '::1')).toEqual({ name: 'insecure-admin', role: 'admin' });
    expect(new Authenticator([], { insecureAdmin: true }).resolve({}, '10.0.0.1')).toEqual({ problem: 'not-loopback' });
  });

  it('without keys: refuses loopback requests for other names (DNS rebinding)', () => {
    const auth = new Authenticator([], { insecureAdmin: true });
    for (const host of ['127.0.0.1:8016', 'localhost:8016', 'LOCALHOST', 'app.localhost:1', '[::1]:8016', '127.0.0.2', 'localhost.']) {
      expect(auth.resolve({ host }, '127.0.0.1'), host).toEqual({ name: 'insecure-admin', role: 'admin' });
    }
    for (const host of ['evil.example:8016', 'evil.example', '127.0.0.1.nip.io:8016', 'localhost.evil.example', '[::2]:8016', '10.0.0.1']) {
      expect(auth.resolve({ host }, '127.0.0.1'), host).toEqual({ problem: 'not-loopback-host' });
    }
    // Keys configured: the key decides, whatever the name.
    expect(new Authenticator(keys).resolve({ host: 'evil.example', authorization: 'Bearer read-secret-0123456789' }, '127.0.0.1')).toEqual({ name: 'viewer', role: 'read' });
  });

  it('knows loopback addresses and hosts', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('127.1.2.3')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('::ffff:192.0.2.1')).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
  });
});

describe('the flag NOTIFY channel', () => {
  it('keeps <schema>_flags while it fits, and is bounded to 63 bytes with a hash suffix beyond', () => {
    expect(flagChannel('curtain')).toBe('curtain_flags');
    expect(flagChannel('s'.repeat(57))).toBe(`${'s'.repeat(57)}_flags`);
    for (const schema of ['s'.repeat(58), 's'.repeat(63), 'é'.repeat(31)]) {
      expect(Buffer.byteLength(flagChannel(schema))).toBeLessThanOrEqual(63);
    }
    // Two long names with the same prefix still get channels of their own.
    expect(flagChannel(`${'p'.repeat(60)}a`)).not.toBe(flagChannel(`${'p'.repeat(60)}b`));
  });
});
