/**
 * The OFREP server as a library (what `migrate serve` runs, without the
 * console): `POST /ofrep/v1/evaluate/flags[/{key}]` for applications in any
 * language. Keys and roles as in `migrate serve` (see src/serve/auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import { buildServeApp } from '../serve/app.js';
import type { ServeKeyConfig } from '../serve/auth.js';
import type { FlagsClient } from './client.js';

/** Options of {@link buildOfrepApp} / {@link startOfrepServer}. */
export interface OfrepOptions {
  flags: FlagsClient;
  /** Named keys with roles; none: loopback clients only, read-only. */
  keys?: readonly ServeKeyConfig[];
  /** Shorthand for a read key named `api-key`. */
  apiKey?: string;
  /** Shorthand for an admin key named `admin-key` (the actor of its writes). */
  adminKey?: string;
  /** Requests per key per window (default 1200 per minute; `max: 0` off). */
  rateLimit?: { max: number; windowMs: number };
  /** Fastify's logger option (default off). */
  logger?: boolean;
}

/** A running server. */
export interface OfrepServer {
  url: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The fastify app, not yet listening (use `app.inject` in tests).
 *
 * @example
 * const app = await buildOfrepApp({ flags, keys: [{ name: 'shop', key: process.env.SHOP_KEY!, role: 'read' }] });
 * const res = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/checkout.v2', headers: { 'x-api-key': process.env.SHOP_KEY! }, payload: {} });
 */
export async function buildOfrepApp(options: OfrepOptions): Promise<FastifyInstance> {
  const keys: ServeKeyConfig[] = [...(options.keys ?? [])];
  if (options.apiKey) keys.push({ name: 'api-key', key: options.apiKey, role: 'read' });
  if (options.adminKey) keys.push({ name: 'admin-key', key: options.adminKey, role: 'admin' });
  return buildServeApp({ flags: options.flags, keys, rateLimit: options.rateLimit, logger: options.logger });
}

/**
 * Build the app and listen; `close()` stops accepting and waits for
 * in-flight requests.
 *
 * @example
 * const server = await startOfrepServer({ flags, keys }, { port: 8016, host: '0.0.0.0' });
 * console.log(server.url);
 */
export async function startOfrepServer(options: OfrepOptions, listen: { port?: number; host?: string } = {}): Promise<OfrepServer> {
  return listenOn(await buildOfrepApp(options), listen);
}

/**
 * Listen on `host:port` and describe the running server.
 *
 * @example
 * const server = await listenOn(app, { port: 0 });
 */
export async function listenOn(app: FastifyInstance, listen: { port?: number; host?: string }): Promise<OfrepServer> {
  await app.listen({ port: listen.port ?? 8016, host: listen.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (listen.port ?? 8016);
  const host = listen.host ?? '127.0.0.1';
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, app, close: () => app.close() };
}
