/**
 * The OpenFeature Remote Evaluation Protocol (OFREP) routes, so services in
 * any language evaluate the same flags: `POST /ofrep/v1/evaluate/flags/{key}`
 * and the bulk `POST /ofrep/v1/evaluate/flags` (ETag / If-None-Match → 304),
 * plus the older admin routes under `/admin/v1/flags/{key}`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CurtainError } from '../errors.js';
import type { FlagsClient } from '../flags/client.js';
import type { EvaluationResult } from '../flags/evaluate.js';
import { flagKeyProblem } from '../flags/keys.js';
import type { FlagKey } from '../flags/types.js';
import { canAct, canRead, sendError } from './access.js';
import { parseFlagChange } from './bodies.js';

type Body = { context?: unknown } | undefined;

/**
 * Register the OFREP routes on `app`. Unknown keys answer 404 and are counted
 * in memory only (`flags.unknownKeys()`), never written to telemetry.
 *
 * @example
 * ofrepRoutes(app, flags);
 */
export function ofrepRoutes(app: FastifyInstance, flags: FlagsClient): void {
  app.post<{ Params: { key: string }; Body: Body }>('/ofrep/v1/evaluate/flags/:key', async (req, reply) => {
    if (!canRead(req, reply, 'ofrep')) return reply;
    const { key } = req.params;
    const problem = flagKeyProblem(key);
    if (problem) return reply.code(400).send({ key, errorCode: 'PARSE_ERROR', errorDetails: problem });
    const ctx = contextOf(req.body);
    if ('error' in ctx) return reply.code(400).send({ key, errorCode: 'INVALID_CONTEXT', errorDetails: ctx.error });
    if (!flags.has(key)) {
      flags.details(key as FlagKey); // counted in memory with the other unknown keys
      return reply.code(404).send({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `flag "${key}" does not exist` });
    }
    return success(key, flags.details(key as FlagKey, ctx.context), flags.version);
  });

  app.post<{ Body: Body }>('/ofrep/v1/evaluate/flags', async (req, reply) => {
    if (!canRead(req, reply, 'ofrep')) return reply;
    const ctx = contextOf(req.body);
    if ('error' in ctx) return reply.code(400).send({ errorCode: 'INVALID_CONTEXT', errorDetails: ctx.error });
    // Results depend on the flags' version and the context: both go into the tag.
    const etag = `"${flags.version}-${createHash('sha1').update(stableJson(ctx.context)).digest('base64url').slice(0, 16)}"`;
    reply.header('ETag', etag);
    if (matches(req.headers['if-none-match'], etag)) return reply.code(304).send();
    const results = flags.list().map((f) => success(f.key, flags.details(f.key as FlagKey, ctx.context), flags.version));
    return { flags: results };
  });

  app.get('/ofrep/v1/configuration', async (req, reply) => {
    if (!canRead(req, reply, 'ofrep')) return reply;
    return {
      name: 'curtain',
      capabilities: {
        cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 1000 } },
        flagEvaluation: { supportedTypes: ['boolean'] },
      },
    };
  });

  // The first admin routes; /api/flags is their successor. The actor is the key's name.
  app.get<{ Params: { key: string } }>('/admin/v1/flags/:key/history', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    const problem = flagKeyProblem(req.params.key);
    if (problem) return sendError(reply, 422, problem);
    return { events: await flags.history(req.params.key) };
  });
  app.delete<{ Params: { key: string }; Body: unknown }>('/admin/v1/flags/:key', async (req, reply) => {
    const who = canAct(req, reply);
    if (!who) return reply;
    const problem = flagKeyProblem(req.params.key);
    if (problem) return sendError(reply, 422, problem);
    const reason = (req.body as { reason?: unknown } | undefined)?.reason;
    if (reason !== undefined && typeof reason !== 'string') return sendError(reply, 422, '"reason" must be a string');
    try {
      return await flags.retire(req.params.key, { actor: who.name, reason });
    } catch (err) {
      if (!(err instanceof CurtainError)) throw err;
      // Refused by a guard (exit 3) → 409; unknown flag → 404.
      if (/does not exist/.test(err.message)) return sendError(reply, 404, err.message);
      return sendError(reply, err.exitCode === 2 ? 422 : 409, err.message, err.hint);
    }
  });
  app.put<{ Params: { key: string }; Body: unknown }>('/admin/v1/flags/:key', async (req, reply) => {
    const who = canAct(req, reply);
    if (!who) return reply;
    const problem = flagKeyProblem(req.params.key);
    if (problem) return sendError(reply, 422, problem);
    const parsed = parseFlagChange(req.body, { legacy: true });
    if ('error' in parsed) return sendError(reply, 422, parsed.error, parsed.hint);
    try {
      return { flag: await flags.set(req.params.key, parsed.patch, { actor: who.name, reason: parsed.reason }) };
    } catch (err) {
      if (err instanceof CurtainError && err.exitCode === 2) return sendError(reply, 422, err.message, err.hint);
      // Refused by a guard (a migration's own flag moves only through switch): a conflict, not a server error.
      if (err instanceof CurtainError && err.exitCode === 3) return sendError(reply, 409, err.message, err.hint);
      throw err;
    }
  });
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
