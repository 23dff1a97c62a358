/**
 * An OpenFeature Remote Evaluation Protocol (OFREP) endpoint on fastify, so
 * services in any language evaluate the same flags:
 * `POST /ofrep/v1/evaluate/flags/{key}` and the bulk
 * `POST /ofrep/v1/evaluate/flags` (ETag / If-None-Match → 304).
 * Admin write endpoints exist only when an admin key is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { FlagsClient } from './client.js';
import type { EvaluationResult } from './evaluate.js';
import { flagKeyProblem } from './keys.js';
import type { FlagPatch } from './store.js';
import type { FlagKey } from './types.js';

/** Options of {@link buildOfrepApp} / {@link startOfrepServer}. */
export interface OfrepOptions {
  flags: FlagsClient;
  /** Required on every OFREP call when set (`Authorization: Bearer <key>` or `X-API-Key`). */
  apiKey?: string;
  /** Enables the admin endpoints, which require this key. */
  adminKey?: string;
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

type Body = { context?: unknown } | undefined;

/**
 * The fastify app, not yet listening (use `app.inject` in tests).
 *
 * @example
 * const app = await buildOfrepApp({ flags, apiKey: 'secret' });
 * const res = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/checkout.v2', headers: { 'x-api-key': 'secret' }, payload: {} });
 */
export async function buildOfrepApp(options: OfrepOptions): Promise<FastifyInstance> {
  const { flags } = options;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 });

  // Malformed JSON must answer with OFREP's PARSE_ERROR body, not fastify's default.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) return reply.code(500).send({ errorDetails: 'internal error' });
    const key = (req.params as { key?: string } | undefined)?.key;
    const body = { ...(key === undefined ? {} : { key }), errorCode: 'PARSE_ERROR', errorDetails: err.message };
    return reply.code(status === 415 ? 415 : 400).send(body);
  });
  // OFREP clients may omit the content type or the body entirely.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));

  const readAuth = authorizer([options.apiKey, options.adminKey]);
  const adminAuth = authorizer([options.adminKey]);

  app.post<{ Params: { key: string }; Body: Body }>('/ofrep/v1/evaluate/flags/:key', async (req, reply) => {
    if (!readAuth(req)) return unauthorized(reply);
    const { key } = req.params;
    const problem = flagKeyProblem(key);
    if (problem) return reply.code(400).send({ key, errorCode: 'PARSE_ERROR', errorDetails: problem });
    const ctx = contextOf(req.body);
    if ('error' in ctx) return reply.code(400).send({ key, errorCode: 'INVALID_CONTEXT', errorDetails: ctx.error });
    if (!flags.has(key)) {
      flags.details(key as FlagKey); // counts the miss and warns once, like any evaluation
      return reply.code(404).send({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `flag "${key}" does not exist` });
    }
    return success(key, flags.details(key as FlagKey, { targetingKey: ctx.targetingKey }), flags.version);
  });

  app.post<{ Body: Body }>('/ofrep/v1/evaluate/flags', async (req, reply) => {
    if (!readAuth(req)) return unauthorized(reply);
    const ctx = contextOf(req.body);
    if ('error' in ctx) return reply.code(400).send({ errorCode: 'INVALID_CONTEXT', errorDetails: ctx.error });
    // Results depend on the flags' version and the context: both go into the tag.
    const etag = `"${flags.version}-${createHash('sha1').update(stableJson(ctx.context)).digest('base64url').slice(0, 16)}"`;
    reply.header('ETag', etag);
    if (matches(req.headers['if-none-match'], etag)) return reply.code(304).send();
    const results = flags.list().map((f) => success(f.key, flags.details(f.key as FlagKey, { targetingKey: ctx.targetingKey }), flags.version));
    return { flags: results };
  });

  app.get('/ofrep/v1/configuration', async (req, reply) => {
    if (!readAuth(req)) return unauthorized(reply);
    return {
      name: 'curtain',
      capabilities: {
        cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 1000 } },
        flagEvaluation: { supportedTypes: ['boolean'] },
      },
    };
  });

  app.get('/healthz', async (_req, reply) => reply.code(flags.status === 'error' ? 503 : 200).send({ status: flags.status, version: flags.version }));

  if (options.adminKey) {
    app.get<{ Params: { key: string } }>('/admin/v1/flags/:key/history', async (req, reply) => {
      if (!adminAuth(req)) return unauthorized(reply);
      const problem = flagKeyProblem(req.params.key);
      if (problem) return reply.code(400).send({ errorCode: 'PARSE_ERROR', errorDetails: problem });
      return { events: await flags.history(req.params.key) };
    });
    app.delete<{ Params: { key: string }; Body: unknown }>('/admin/v1/flags/:key', async (req, reply) => {
      if (!adminAuth(req)) return unauthorized(reply);
      const problem = flagKeyProblem(req.params.key);
      if (problem) return reply.code(400).send({ errorCode: 'PARSE_ERROR', errorDetails: problem });
      const reason = typeof (req.body as { reason?: unknown } | undefined)?.reason === 'string' ? (req.body as { reason: string }).reason : undefined;
      try {
        return await flags.retire(req.params.key, { actor: 'ofrep-admin', reason });
      } catch (err) {
        const e = err as Error & { exitCode?: number };
        // Refused by a guard (exit 3) → 409; unknown flag (exit 1 from retire) → 404.
        if (e.exitCode === 3) return reply.code(409).send({ errorCode: 'GENERAL', errorDetails: e.message });
        if (e.exitCode === 1 && /does not exist/.test(e.message)) return reply.code(404).send({ key: req.params.key, errorCode: 'FLAG_NOT_FOUND', errorDetails: e.message });
        throw err;
      }
    });
    app.put<{ Params: { key: string }; Body: unknown }>('/admin/v1/flags/:key', async (req, reply) => {
      if (!adminAuth(req)) return unauthorized(reply);
      const problem = flagKeyProblem(req.params.key);
      if (problem) return reply.code(400).send({ errorCode: 'PARSE_ERROR', errorDetails: problem });
      const parsed = parsePatch(req.body);
      if ('error' in parsed) return reply.code(400).send({ errorCode: 'PARSE_ERROR', errorDetails: parsed.error });
      try {
        const flag = await flags.set(req.params.key, parsed.patch, { actor: parsed.actor ?? 'ofrep-admin', reason: parsed.reason });
        return { flag };
      } catch (err) {
        const e = err as Error & { exitCode?: number };
        if (e.exitCode === 2) return reply.code(400).send({ errorCode: 'GENERAL', errorDetails: e.message });
        // A migration's flag moves only through its lifecycle: 409, with the command to use.
        if (e.exitCode === 3) return reply.code(409).send({ errorCode: 'GENERAL', errorDetails: e.message, hint: (err as { hint?: string }).hint });
        throw err;
      }
    });
  }
  return app;
}

/**
 * Build the app and listen; `close()` stops accepting and waits for
 * in-flight requests.
 *
 * @example
 * const server = await startOfrepServer({ flags, apiKey: process.env.OFREP_KEY }, { port: 8016, host: '0.0.0.0' });
 * console.log(server.url);
 */
export async function startOfrepServer(options: OfrepOptions, listen: { port?: number; host?: string } = {}): Promise<OfrepServer> {
  const app = await buildOfrepApp(options);
  await app.listen({ port: listen.port ?? 8016, host: listen.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (listen.port ?? 8016);
  const host = listen.host ?? '127.0.0.1';
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, app, close: () => app.close() };
}

function parseJson(body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(null, JSON.parse(body));
  } catch (err) {
    done(Object.assign(new Error(`request body is not valid JSON: ${(err as Error).message}`), { statusCode: 400 }));
  }
}

function contextOf(body: Body | unknown): { context: Record<string, unknown>; targetingKey?: string } | { error: string } {
  if (body === undefined || body === null) return { context: {} };
  if (typeof body !== 'object' || Array.isArray(body)) return { error: 'request body must be a JSON object' };
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null) return { context: {} };
  if (typeof context !== 'object' || Array.isArray(context)) return { error: '"context" must be an object' };
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') return { error: '"context.targetingKey" must be a string' };
  return { context: context as Record<string, unknown>, targetingKey };
}

function success(key: string, r: EvaluationResult, version: number) {
  return { key, value: r.value, reason: r.reason, variant: r.variant, metadata: { version } };
}

function unauthorized(reply: FastifyReply) {
  return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ errorDetails: 'missing or invalid API key' });
}

/** A check of the request's key against any of `keys` (no keys configured: open). */
function authorizer(keys: (string | undefined)[]): (req: FastifyRequest) => boolean {
  const accepted = keys.filter((k): k is string => typeof k === 'string' && k.length > 0).map((k) => Buffer.from(k));
  if (accepted.length === 0) return () => true;
  return (req) => {
    const auth = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    const given = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : typeof apiKey === 'string' ? apiKey : undefined;
    if (given === undefined) return false;
    const g = Buffer.from(given);
    return accepted.some((k) => k.length === g.length && timingSafeEqual(k, g));
  };
}

function matches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const list = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => t.trim().replace(/^W\//, ''));
  return list.includes('*') || list.includes(etag);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function parsePatch(body: unknown): { patch: FlagPatch; reason?: string; actor?: string } | { error: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: 'body must be a JSON object' };
  const b = body as Record<string, unknown>;
  const patch: FlagPatch = {};
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== 'boolean') return { error: '"enabled" must be a boolean' };
    patch.enabled = b.enabled;
  }
  if (b.rollout !== undefined) {
    if (typeof b.rollout !== 'number') return { error: '"rollout" must be a number from 0 to 100' };
    patch.rollout = b.rollout;
  }
  for (const field of ['group', 'description'] as const) {
    if (b[field] !== undefined) {
      if (b[field] !== null && typeof b[field] !== 'string') return { error: `"${field}" must be a string or null` };
      patch[field] = b[field] as string | null;
    }
  }
  const reason = typeof b.reason === 'string' ? b.reason : undefined;
  const actor = typeof b.actor === 'string' ? b.actor : undefined;
  return { patch, reason, actor };
}
