/**
 * Request bodies of the write routes, validated with zod. Unknown fields are
 * refused — in particular `actor`: the actor is always the key's name.
 */
import { z } from 'zod';
import { MAX_DESCRIPTION_LENGTH, MAX_REASON_LENGTH, textProblem, type FlagPatch } from '../flags/store.js';

const percent = z.number().int('must be a whole number').min(0).max(100);
// The store's own rule (length in characters, no NUL), so a body it would refuse is a 422 here, never a 409 or a 500 there.
const text = (max: number) =>
  z.string().superRefine((s, ctx) => {
    const problem = textProblem(s, max);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const description = text(MAX_DESCRIPTION_LENGTH).nullable();
const reason = text(MAX_REASON_LENGTH);

const flagChange = z
  .object({ enabled: z.boolean(), percent, description, reason })
  .partial()
  .strict()
  .refine((b) => b.enabled !== undefined || b.percent !== undefined || b.description !== undefined, 'give at least one of enabled, percent, description');

// The first admin route spelled the percentage `rollout` and allowed groups.
const legacyFlagChange = z
  .object({ enabled: z.boolean(), rollout: percent, group: z.string().nullable(), description, reason })
  .partial()
  .strict();

const switchBody = z.union([z.object({ percent }).strict(), z.object({ off: z.literal(true) }).strict()]);

const emptyBody = z.object({}).strict();

/** A failed validation, as the routes answer it (422). */
export interface BodyError {
  error: string;
  hint?: string;
}

function problem(err: z.ZodError): BodyError {
  const issue = err.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  const unknownKeys = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys ?? [] : [];
  const hint = unknownKeys.includes('actor') ? 'the actor is always the name of the key making the request' : undefined;
  return { error: `${where}${issue.message}`, ...(hint ? { hint } : {}) };
}

/**
 * `PUT /api/flags/:key`: `{ enabled?, percent?, description?, reason? }`.
 *
 * @example
 * parseFlagChange({ enabled: true, percent: 25, reason: 'canary' }) // { patch: { enabled: true, rollout: 25 }, reason: 'canary' }
 */
export function parseFlagChange(body: unknown, options: { legacy?: boolean } = {}): { patch: FlagPatch; reason?: string } | BodyError {
  if (options.legacy) {
    const r = legacyFlagChange.safeParse(body ?? {});
    if (!r.success) return problem(r.error);
    const { reason: why, ...patch } = r.data;
    return { patch, reason: why };
  }
  const r = flagChange.safeParse(body ?? {});
  if (!r.success) return problem(r.error);
  const patch: FlagPatch = {};
  if (r.data.enabled !== undefined) patch.enabled = r.data.enabled;
  if (r.data.percent !== undefined) patch.rollout = r.data.percent;
  if (r.data.description !== undefined) patch.description = r.data.description;
  return { patch, reason: r.data.reason };
}

/**
 * `POST /api/migrations/:name/switch`: `{ percent }` or `{ off: true }`.
 *
 * @example
 * parseSwitch({ percent: 25 }) // { percent: 25 }
 */
export function parseSwitch(body: unknown): { percent?: number; off?: boolean } | BodyError {
  const r = switchBody.safeParse(body ?? {});
  return r.success ? r.data : { error: 'the body must be { "percent": 0-100 } or { "off": true }' };
}

/**
 * Bodies of routes that take none (`{}` or nothing).
 *
 * @example
 * parseEmpty(undefined) // {}
 */
export function parseEmpty(body: unknown): Record<string, never> | BodyError {
  const r = emptyBody.safeParse(body ?? {});
  return r.success ? {} : problem(r.error);
}
