/**
 * The console's JSON API (also for scripts) and the page routes. Reads need a
 * read or admin key; writes an admin key, and record the key's name as actor.
 * Errors: 401 no or bad key, 403 read key acting, 404 unknown, 409 refused by
 * the lifecycle, 413 body too large, 422 invalid body.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import { pauseBackfill, resumeBackfill, UnknownMigrationError } from '../backfill/control.js';
import { toUserConfig, type Config } from '../config.js';
import { CurtainError, ExitCode, MigrationFileError } from '../errors.js';
import type { FlagsClient } from '../flags/client.js';
import { flagKeyProblem } from '../flags/keys.js';
import { flagHistory, getFlag } from '../flags/store.js';
import { createMigrator } from '../migration/migrator.js';
import { canAct, canRead, NOT_JSON, sendError } from './access.js';
import { parseEmpty, parseFlagChange, parseSwitch } from './bodies.js';
import { CONSOLE_CSS, CONSOLE_JS } from './console/assets.js';
import { renderMain, renderPage, type ConsoleData } from './console/page.js';
import type { EventHub } from './events.js';
import { allTimelines, flagsView, migrationDetail, migrationsView, snapshotsView, type ViewContext } from './views.js';

/** What the console routes need. */
export interface ConsoleRoutesOptions {
  config: Config;
  pool: pg.Pool;
  flags: FlagsClient;
  hub: EventHub;
  views: ViewContext;
}

/**
 * Register `/`, `/console/*` and `/api/*` on `app`.
 *
 * @example
 * consoleRoutes(app, { config, pool, flags, hub, views });
 */
export function consoleRoutes(app: FastifyInstance, o: ConsoleRoutesOptions): void {
  const { config, pool, flags, hub, views } = o;
  const load = async (): Promise<ConsoleData> => ({
    schema: config.schema,
    migrations: await migrationsView(views),
    timelines: await allTimelines(views),
    flags: await flagsView(views, flags.unknownKeys()),
    snapshots: await snapshotsView(views),
  });

  app.get('/', async (req, reply) => {
    const who = canRead(req, reply, 'page');
    if (!who) return reply;
    return reply.type('text/html; charset=utf-8').send(renderPage(await load(), who));
  });
  app.get('/console/fragment', async (req, reply) => {
    const who = canRead(req, reply, 'page');
    if (!who) return reply;
    return reply.type('text/html; charset=utf-8').send(renderMain(await load(), who).value);
  });
  // No data in these two: served to anyone who can connect.
  app.get('/console/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_JS));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/console/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(CONSOLE_CSS));

  app.get('/api/migrations', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    return { migrations: await migrationsView(views) };
  });
  app.get<{ Params: { name: string } }>('/api/migrations/:name', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    const detail = await migrationDetail(views, req.params.name);
    if (!detail) return sendError(reply, 404, `no migration named "${req.params.name}"`);
    return { migration: detail };
  });
  app.get('/api/flags', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    return flagsView(views, flags.unknownKeys());
  });
  app.get<{ Params: { key: string }; Querystring: { limit?: string } }>('/api/flags/:key/history', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    const { key } = req.params;
    const problem = flagKeyProblem(key);
    if (problem) return sendError(reply, 422, problem);
    const given = req.query.limit ?? '100';
    const limit = /^\d{1,4}$/.test(given) ? Number(given) : 0; // plain digits only: Number() would take 0x10 and 1e2
    if (limit < 1 || limit > 1000) return sendError(reply, 422, 'limit must be a whole number from 1 to 1000');
    const events = await flagHistory(pool, config.schema, key, { limit });
    if (events.length === 0 && !(await getFlag(pool, config.schema, key))) return sendError(reply, 404, `flag "${key}" does not exist`);
    return { key, events };
  });
  app.get('/api/snapshots', async (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    return { snapshots: await snapshotsView(views) };
  });
  app.get('/api/events', (req, reply) => {
    if (!canRead(req, reply, 'api')) return reply;
    // HEAD: the headers only; a stream would never send them (a HEAD response has no body to write).
    if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
    reply.hijack();
    hub.subscribe(reply.raw);
  });

  app.put<{ Params: { key: string }; Body: unknown }>('/api/flags/:key', async (req, reply) => {
    const who = canAct(req, reply);
    if (!who) return reply;
    if (!jsonBody(req.headers['content-type'], reply)) return reply;
    const { key } = req.params;
    const problem = flagKeyProblem(key);
    if (problem) return sendError(reply, 422, problem);
    const parsed = parseFlagChange(req.body);
    if ('error' in parsed) return sendError(reply, 422, parsed.error, parsed.hint);
    const existing = await getFlag(pool, config.schema, key);
    if (existing?.migration) {
      return sendError(reply, 409, `flag "${key}" belongs to migration ${existing.migration}`, `switch the migration instead: POST /api/migrations/${existing.migration}/switch`);
    }
    if (existing?.retired) return sendError(reply, 409, `flag "${key}" is retired (locked on)`);
    try {
      const flag = await flags.set(key, parsed.patch, { actor: who.name, reason: parsed.reason });
      return { flag };
    } catch (err) {
      return refusal(reply, err);
    }
  });

  app.post<{ Params: { name: string }; Body: unknown }>('/api/migrations/:name/switch', async (req, reply) => {
    const who = canAct(req, reply);
    if (!who) return reply;
    if (!jsonBody(req.headers['content-type'], reply)) return reply;
    const body = parseSwitch(req.body);
    if ('error' in body) return sendError(reply, 422, body.error);
    const detail = await migrationDetail(views, req.params.name);
    if (!detail) return sendError(reply, 404, `no migration named "${req.params.name}"`);
    // The same locked path as `migrate switch`: migrate lock, lifecycle checks, snapshot, audit.
    const migrator = await createMigrator({ pool, cwd: config.root, ...toUserConfig(config), actor: who.name });
    try {
      const result = await migrator.switch(detail.name, body);
      hub.changed();
      return { result };
    } catch (err) {
      return refusal(reply, err);
    } finally {
      await migrator.close();
    }
  });

  for (const verb of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string }; Body: unknown }>(`/api/migrations/:name/backfill/${verb}`, async (req, reply) => {
      const who = canAct(req, reply);
      if (!who) return reply;
      if (!jsonBody(req.headers['content-type'], reply, true)) return reply;
      const body = parseEmpty(req.body);
      if ('error' in body) return sendError(reply, 422, body.error);
      const detail = await migrationDetail(views, req.params.name);
      if (!detail) return sendError(reply, 404, `no migration named "${req.params.name}"`);
      try {
        const control = await (verb === 'pause' ? pauseBackfill : resumeBackfill)(pool, config.schema, detail.name, { actor: who.name });
        hub.changed();
        return { control };
      } catch (err) {
        return refusal(reply, err);
      }
    });
  }
}

/**
 * Writes take JSON only: a browser cannot send that to another site without
 * asking first (CORS preflight, which this server never grants). Any other
 * type was refused before parsing (`refuseNotJson`); here a write that needs
 * a body is refused when it names no type at all.
 */
function jsonBody(contentType: string | undefined, reply: FastifyReply, emptyAllowed = false): boolean {
  if (contentType !== undefined || emptyAllowed) return true;
  sendError(reply, 415, NOT_JSON);
  return false;
}

/** A lifecycle refusal as an HTTP answer: 404 unknown, 422 bad value, 409 refused; anything else is rethrown. */
function refusal(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof UnknownMigrationError) return sendError(reply, 404, err.message, err.hint);
  if (err instanceof MigrationFileError) return sendError(reply, 409, err.message, err.hint);
  if (err instanceof CurtainError) {
    const status = err.exitCode === ExitCode.error ? 500 : 409;
    return sendError(reply, status, err.message, err.hint);
  }
  throw err;
}
