/**
 * Who is asking: a named key with a role (`read` sees everything, `admin` also
 * acts), or — on a server with no keys — a loopback client, read-only unless
 * the server was started with `--insecure-admin`. The key's name is the
 * actor of every write; the secret itself is never logged or echoed.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A key as configured (`serve.keys`). */
export interface ServeKeyConfig {
  name: string;
  key: string;
  role: 'read' | 'admin';
}

/** The authenticated caller. */
export interface Principal {
  /** The key's name: the actor recorded for every change it makes. */
  name: string;
  role: 'read' | 'admin';
}

/**
 * Why a request has no principal. `not-loopback-host`: a loopback client
 * asked for a name that is not this machine's (`Host: evil.example`), as a
 * browser does after a DNS rebinding: without keys, only loopback names are
 * answered, or any site a local browser visits could read (and with
 * `--insecure-admin` act on) the server.
 */
export type AuthProblem = 'missing' | 'invalid' | 'not-loopback' | 'not-loopback-host';

/** Actor of writes on a server without keys started with `--insecure-admin`. */
export const INSECURE_ADMIN = 'insecure-admin';

/**
 * Resolves requests to principals. Keys are compared in constant time, and
 * every configured key is compared, so timing tells nothing about which
 * (or whether a) prefix matched.
 *
 * @example
 * const auth = new Authenticator([{ name: 'ops', key: process.env.OPS_KEY!, role: 'admin' }]);
 * auth.resolve(req.headers, req.socket.remoteAddress); // { name: 'ops', role: 'admin' } or { problem: 'missing' }
 */
export class Authenticator {
  private readonly keys: { secret: Buffer; principal: Principal }[];

  constructor(
    keys: readonly ServeKeyConfig[],
    private readonly options: { insecureAdmin?: boolean } = {},
  ) {
    this.keys = keys.map((k) => ({ secret: Buffer.from(k.key), principal: { name: k.name, role: k.role } }));
  }

  /** True when at least one key is configured (then every request needs one). */
  get hasKeys(): boolean {
    return this.keys.length > 0;
  }

  /** The principal of a request, or why there is none. */
  resolve(headers: IncomingHttpHeaders, remoteAddress: string | undefined): Principal | { problem: AuthProblem } {
    if (!this.hasKeys) {
      if (!isLoopbackAddress(remoteAddress)) return { problem: 'not-loopback' };
      if (typeof headers.host === 'string' && !isLoopbackHostHeader(headers.host)) return { problem: 'not-loopback-host' };
      return this.options.insecureAdmin ? { name: INSECURE_ADMIN, role: 'admin' } : { name: 'loopback', role: 'read' };
    }
    const given = presentedKey(headers);
    if (given === undefined) return { problem: 'missing' };
    const g = Buffer.from(given);
    let found: Principal | undefined;
    for (const k of this.keys) {
      // Compare against every key: no early exit.
      const same = k.secret.length === g.length && timingSafeEqual(k.secret, g);
      if (same && !found) found = k.principal;
    }
    return found ?? { problem: 'invalid' };
  }
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, `X-API-Key:
 * <key>`, or HTTP Basic with the key as password (what a browser sends after
 * its login prompt; the user name is ignored).
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const [scheme, value = ''] = auth.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme ?? '')) return value || undefined;
    if (/^basic$/i.test(scheme ?? '')) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
    }
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

/**
 * Whether a peer address is this machine.
 *
 * @example
 * isLoopbackAddress('::ffff:127.0.0.1') // true
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * Whether a `Host` header names this machine: `localhost` (or a name under
 * `.localhost`), a 127.x address or `[::1]`, with or without a port.
 *
 * @example
 * isLoopbackHostHeader('127.0.0.1:8016') // true
 * isLoopbackHostHeader('evil.example:8016') // false
 */
export function isLoopbackHostHeader(header: string): boolean {
  const h = header.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (bracketed) return isLoopbackAddress(bracketed[1]);
  const name = h.replace(/:\d+$/, '').replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}

/**
 * Whether binding `host` keeps the server on this machine.
 *
 * @example
 * isLoopbackHost('0.0.0.0') // false
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
