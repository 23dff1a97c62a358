/**
 * The HTTP server of `migrate serve`: OFREP for applications, and — given a
 * pool and the configuration — the console at `/` with its JSON API. One
 * place decides who is asking (keys and roles), limits each key's request
 * rate and body sizes, and sets the security headers.
 */
import { STATUS_CODES } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Config } from '../config.js';
import { redactText } from '../db/redact.js';
import { CurtainError } from '../errors.js';
import type { FlagsClient } from '../flags/client.js';
import { consoleRoutes } from './api.js';
import { refuseNotJson } from './access.js';
import { Authenticator, type ServeKeyConfig } from './auth.js';
import { EventHub } from './events.js';
import { ofrepRoutes } from './ofrep.js';
import { ProgressTracker } from './progress.js';

/** Largest request body accepted (bigger: 413). */
export const BODY_LIMIT = 64 * 1024;

/** Options of {@link buildServeApp}. */
export interface ServeAppOptions {
  flags: FlagsClient;
  /** Named keys; none: loopback clients only, read-only unless `insecureAdmin`. */
  keys?: readonly ServeKeyConfig[];
  /** Without keys, let loopback clients act (actor `insecure-admin`). */
  insecureAdmin?: boolean;
  /** Requests per key (per address without one) per window; `max: 0` turns it off. Default 1200 per minute. */
  rateLimit?: { max: number; windowMs: number };
  /** Fastify's logger (default off). Requests are logged without headers: keys never appear. */
  logger?: boolean;
  /** With these, the console and the JSON API are served too. */
  console?: { config: Config; pool: pg.Pool; pollMs?: number };
}

/**
 * The fastify app, not yet listening.
 *
 * @example
 * const app = await buildServeApp({ flags, keys: [{ name: 'ops', key: process.env.OPS_KEY!, role: 'admin' }], console: { config, pool } });
 * await app.listen({ port: 8016, host: '127.0.0.1' });
 */
export async function buildServeApp(options: ServeAppOptions): Promise<FastifyInstance> {
  const { flags } = options;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: BODY_LIMIT });
  const auth = new Authenticator(options.keys ?? [], { insecureAdmin: options.insecureAdmin });

  // Who is asking, before anything else (the rate limit counts per key).
  app.decorateRequest('principal', null);
  app.decorateRequest('authProblem', undefined);
  app.addHook('onRequest', async (req) => {
    const r = auth.resolve(req.headers, req.socket.remoteAddress);
    if ('problem' in r) req.authProblem = r.problem;
    else req.principal = r;
  });
  const limit = options.rateLimit ?? { max: 1200, windowMs: 60_000 };
  if (limit.max > 0) {
    await app.register(rateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.windowMs,
      keyGenerator: (req) => (req.principal ? `key:${req.principal.name}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) => ({
        statusCode: 429,
        error: STATUS_CODES[429],
        message: `rate limit of ${ctx.max} requests per ${ctx.after === '' ? 'window' : `window reached; retry in ${ctx.after}`}`,
      }),
    });
  }

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header(
        'content-security-policy',
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
    }
    void req;
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    // Redacted as the CLI's output is: a curtain error may quote a connection string.
    const hint = err instanceof CurtainError && err.hint ? redactText(err.hint) : undefined;
    if (status >= 500) {
      req.log.error(err);
      // curtain's own errors say what to fix (a migration file that does not load breaks every view); others stay opaque.
      const message = err instanceof CurtainError ? redactText(err.message) : 'internal error';
      return reply.code(500).send({ statusCode: 500, error: STATUS_CODES[500], message, ...(hint ? { hint } : {}) });
    }
    const message = status === 413 ? `the request body is larger than ${BODY_LIMIT / 1024} KiB` : redactText(err.message);
    if (req.url.startsWith('/ofrep/')) {
      // OFREP's own error body; the status says what happened (400 parse error, 413, 415, 429).
      const key = (req.params as { key?: string } | undefined)?.key;
      return reply.code(status).send({ ...(key === undefined ? {} : { key }), errorCode: status === 400 ? 'PARSE_ERROR' : 'GENERAL', errorDetails: message });
    }
    return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...(hint ? { hint } : {}) });
  });
  // OFREP clients may omit the content type or the body entirely.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));

  app.get('/healthz', async (_req, reply) => reply.code(flags.status === 'error' ? 503 : 200).send({ status: flags.status, version: flags.version }));
  app.addHook('onRequest', refuseNotJson);
  ofrepRoutes(app, flags);

  if (options.console) {
    const { config, pool } = options.console;
    const progress = new ProgressTracker(config.schema);
    const hub = new EventHub({ pool, schema: config.schema, progress, pollMs: options.console.pollMs });
    const off = flags.on('change', () => hub.changed());
    app.addHook('preClose', async () => {
      off();
      hub.close();
    });
    consoleRoutes(app, { config, pool, flags, hub, views: { config, pool, progress } });
  }
  return app;
}

function parseJson(body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(null, JSON.parse(body));
  } catch (err) {
    done(Object.assign(new Error(`request body is not valid JSON: ${(err as Error).message}`), { statusCode: 400 }));
  }
}
