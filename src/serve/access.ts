/**
 * Per-route access checks on top of {@link Authenticator}: every route states
 * what it needs (read or admin) and how refusals look (OFREP's error body,
 * the API's JSON, or a browser login prompt for the page).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthProblem, Principal } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the server's first hook; null when the request carries no valid key. */
    principal: Principal | null;
    authProblem: AuthProblem | undefined;
  }
}

/** How a refusal is answered. */
export type Style = 'api' | 'ofrep' | 'page';

const REALM = 'Basic realm="curtain", charset="UTF-8"';

/**
 * A JSON error as every API route answers it: `{ statusCode, error, message, hint? }`.
 *
 * @example
 * return sendError(reply, 409, 'm1 is pending; switch needs an expanded migration');
 */
export function sendError(reply: FastifyReply, status: number, message: string, hint?: string): FastifyReply {
  return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...(hint ? { hint } : {}) });
}

/** The 415 answer to a write whose body is not JSON. */
export const NOT_JSON = 'send the body as application/json';

/**
 * The server's hook before bodies are parsed: a write to the console API or
 * the admin routes that names another type than JSON (a form post) is
 * refused (415) rather than parsed. OFREP clients may send any type.
 *
 * @example
 * app.addHook('onRequest', refuseNotJson);
 */
export async function refuseNotJson(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD' || !/^\/(api|admin)\//.test(req.url)) return undefined;
  const type = req.headers['content-type'];
  // Returning the reply tells fastify the request is answered.
  return type !== undefined && !/^application\/json\b/i.test(type) ? sendError(reply, 415, NOT_JSON) : undefined;
}

/**
 * The principal if it may read; otherwise the refusal is sent and undefined returned.
 *
 * @example
 * const who = canRead(req, reply, 'api'); if (!who) return reply;
 */
export function canRead(req: FastifyRequest, reply: FastifyReply, style: Style): Principal | undefined {
  if (req.principal) return req.principal;
  if (req.authProblem === 'not-loopback' || req.authProblem === 'not-loopback-host') {
    const message =
      req.authProblem === 'not-loopback'
        ? 'this server has no keys configured and answers clients on this machine only'
        : 'this server has no keys configured and answers requests for localhost, 127.0.0.1 or [::1] only';
    if (style === 'ofrep') reply.code(403).send({ errorDetails: message });
    else sendError(reply, 403, message, 'configure serve.keys to serve other machines or names');
    return undefined;
  }
  const message = req.authProblem === 'invalid' ? 'the key is not valid' : 'a key is required';
  if (style === 'ofrep') {
    reply.code(401).header('WWW-Authenticate', 'Bearer').send({ errorDetails: 'missing or invalid API key' });
  } else {
    reply.header('WWW-Authenticate', REALM);
    if (style === 'page') reply.code(401).type('text/plain; charset=utf-8').send(`${message}: sign in with a key of this server as the password\n`);
    else sendError(reply, 401, message, 'send Authorization: Bearer <key> (or X-API-Key)');
  }
  return undefined;
}

/**
 * The principal if it may act (an admin key, or `--insecure-admin` on
 * loopback) and the request is not a cross-site one; otherwise the refusal
 * is sent (401, 403) and undefined returned.
 *
 * @example
 * const who = canAct(req, reply); if (!who) return reply;
 * await setFlag(pool, schema, key, patch, { actor: who.name });
 */
export function canAct(req: FastifyRequest, reply: FastifyReply, style: Style = 'api'): Principal | undefined {
  const who = canRead(req, reply, style);
  if (!who) return undefined;
  if (who.role !== 'admin') {
    const hint = req.principal?.name === 'loopback' ? 'configure an admin key in serve.keys (or start with --insecure-admin on a trusted machine)' : 'use an admin key';
    sendError(reply, 403, `"${who.name}" is a read-only key: it cannot change anything`, hint);
    return undefined;
  }
  // Browsers resend remembered credentials with requests another site triggers: refuse those.
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if ((typeof site === 'string' && site !== 'same-origin' && site !== 'none') || (typeof origin === 'string' && !sameHost(origin, req.headers.host))) {
    sendError(reply, 403, 'cross-site requests cannot act');
    return undefined;
  }
  return who;
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
