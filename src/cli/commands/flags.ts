import type { Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { CurtainError, GuardRefusal, UsageError } from '../../errors.js';
import { assertFlagKey } from '../../flags/keys.js';
import { parseTargeting } from '../../flags/targeting-syntax.js';
import { retireFlag } from '../../flags/retire.js';
import { flagHistory, getFlag, listFlags, type FlagPatch, type FlagRow } from '../../flags/store.js';
import { targetFlag, type TargetFlagInput } from '../../flags/target.js';
import { describeFlagState, formatConstraint, type Constraint } from '../../flags/targeting.js';
import { assertFlagWritable } from '../../flags/ownership.js';
import { transaction } from '../../db/transaction.js';
import { flagUsage } from '../../flags/usage.js';
import { escapeControl } from '../../text/control.js';
import { withContext } from '../context.js';
import type { Output } from '../output.js';

/** `migrate flags list|get|set|history|retire`. */
export function register(program: Command): void {
  const flags = program.command('flags').description('inspect and change feature flags');

  flags
    .command('list')
    .description('every flag, with how live clients evaluated it recently')
    .option('--window <duration>', 'usage window (e.g. 15m, 1h)', '15m')
    .action(async (opts: { window: string }, command: Command) => {
      const windowMs = parseDuration(opts.window, '--window');
      await withContext(command, async ({ config, out, database }) => {
        const rows = await listFlags(database.pool, config.schema);
        const usage = new Map((await flagUsage(database.pool, config.schema, undefined, { windowMs })).map((u) => [u.key, u]));
        const none = { liveClients: 0, trueCount: 0, falseCount: 0 };
        out.result({
          windowMs,
          flags: rows.map((f) => {
            const u = usage.get(f.key);
            return { ...f, usage: u ? { liveClients: u.liveClients, trueCount: u.trueCount, falseCount: u.falseCount } : none };
          }),
        });
        if (rows.length === 0) return out.line('no flags yet');
        out.table(
          ['KEY', 'STATE', 'GROUP', 'MIGRATION', 'VERSION', `CLIENTS (${opts.window})`, 'TRUE', 'FALSE'],
          rows.map((f) => {
            const u = usage.get(f.key) ?? none;
            return [f.key, state(f), f.group, f.migration, f.version, u.liveClients, u.trueCount, u.falseCount];
          }),
        );
      });
    });

  flags
    .command('get <key>')
    .description('one flag in full')
    .action(async (key: string, _opts: unknown, command: Command) => {
      assertFlagKey(key);
      await withContext(command, async ({ config, out, database }) => {
        const flag = await getFlag(database.pool, config.schema, key);
        if (!flag) throw new CurtainError(`flag "${key}" does not exist`, { hint: 'list flags with `migrate flags list`' });
        out.result({ flag });
        printFlag(out, flag);
      });
    });

  flags
    .command('set <key> [state]')
    .description('create or change a flag: on|off, targeting, a rollout percentage, an exclusion group')
    .option('--for <subjects>', 'allowlist: these targeting keys get the flag, comma-separated (repeatable; replaces the list)', collect)
    .option('--where <condition>', 'the flag is on where this holds: "tenant in (acme, initech)", "appName = billing-canary" (repeatable, ANDed; replaces the conditions)', collect)
    .option('--clear-targeting', 'remove the allowlist and the conditions')
    .option('--percent <n>', 'share of subjects (0-100), sticky per targeting key')
    .option('--group <name>', 'exclusion group: its flags never overlap on a subject')
    .option('--no-group', 'leave its exclusion group')
    .option('--description <text>', 'what the flag is for')
    .option('--reason <text>', 'why, for the audit trail')
    .action(
      async (
        key: string,
        stateArg: string | undefined,
        opts: { for?: string[]; where?: string[]; clearTargeting?: boolean; percent?: string; group?: string | boolean; description?: string; reason?: string },
        command: Command,
      ) => {
        assertFlagKey(key);
        const patch: TargetFlagInput = { for: opts.for, where: opts.where, clearTargeting: opts.clearTargeting };
        // Parse now: bad syntax is exit 2 before any connection is opened.
        parseTargeting({ for: opts.for, where: opts.where });
        if (stateArg !== undefined) {
          if (stateArg !== 'on' && stateArg !== 'off') throw new UsageError(`state must be "on" or "off", got ${JSON.stringify(stateArg)}`);
          patch.enabled = stateArg === 'on';
        }
        if (opts.percent !== undefined) {
          const n = Number(opts.percent.replace(/%$/, ''));
          if (!Number.isInteger(n) || n < 0 || n > 100) throw new UsageError(`--percent must be a whole number from 0 to 100, got ${opts.percent}`);
          patch.rollout = n;
        }
        if (typeof opts.group === 'string') {
          assertFlagKey(opts.group, 'group name');
          patch.group = opts.group;
        } else if (opts.group === false) patch.group = null;
        if (opts.description !== undefined) patch.description = opts.description;
        if (Object.values(patch).every((v) => v === undefined)) {
          throw new UsageError('nothing to change', 'give on|off, --for, --where, --clear-targeting, --percent, --group or --description');
        }
        await withContext(command, async ({ config, out, database }) => {
          const before = await getFlag(database.pool, config.schema, key);
          // A migration's flag moves only through its lifecycle (migrate switch): refused here while it is in flight.
          const flag = await transaction(database.pool, async (tx) => {
            await assertFlagWritable(tx, config.schema, key, { enabled: patch.enabled, rollout: patch.rollout, group: patch.group, ...(patch.for || patch.where || patch.clearTargeting ? { targeting: true } : {}) } as FlagPatch);
            return targetFlag(tx, config.schema, key, patch, { reason: opts.reason });
          });
          out.result({ flag, created: before === undefined });
          out.line(`${before ? 'changed' : 'created'} ${key}: ${state(flag)}${flag.group ? ` (group ${flag.group})` : ''} — version ${flag.version}`);
        });
      },
    );

  flags
    .command('history <key>')
    .description("a flag's audit trail, newest first")
    .option('--limit <n>', 'at most this many events', '50')
    .action(async (key: string, opts: { limit: string }, command: Command) => {
      assertFlagKey(key);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number, got ${opts.limit}`);
      await withContext(command, async ({ config, out, database }) => {
        const events = await flagHistory(database.pool, config.schema, key, { limit });
        out.result({ key, events });
        if (events.length === 0) return out.line(`no history for ${key}`);
        out.table(
          ['AT', 'ACTOR', 'ACTION', 'CHANGE', 'REASON'],
          // Actors and reasons are anyone's text: escaped here, before any colour is added.
          events.map((e) => [e.at.toISOString(), escapeControl(e.actor), e.action, escapeControl(change(e.before, e.after)), e.reason === null ? null : escapeControl(e.reason)]),
        );
      });
    });

  flags
    .command('retire <key>')
    .description('delete a flag once its migration is contracted and no source file mentions it')
    .option('--reason <text>', 'why, for the audit trail')
    .action(async (key: string, opts: { reason?: string }, command: Command) => {
      assertFlagKey(key);
      await withContext(
        command,
        async ({ config, out, database }) => {
          try {
            const result = await retireFlag(database.pool, config.schema, key, {
              reason: opts.reason,
              sources: { root: config.root, globs: config.flags.sourceGlobs },
            });
            out.result(result);
            out.line(`retired ${key}: deleted, with an audit row; clients now evaluate it as unknown (false)`);
          } catch (err) {
            if (err instanceof GuardRefusal) {
              const references = (err as GuardRefusal & { references?: unknown[] }).references ?? [];
              out.result({ key, retired: false, guard: err.guard, message: err.message, references });
            }
            throw err;
          }
        },
        { mutating: 'flags retire' },
      );
    });
}

function state(f: Pick<FlagRow, 'enabled' | 'rollout' | 'retired'> & Partial<Pick<FlagRow, 'subjects' | 'constraints'>>): string {
  return describeFlagState(f);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function printFlag(out: Output, f: FlagRow): void {
  const rows: [string, unknown][] = [
    ['key', f.key],
    ['state', state(f)],
    ['rollout', `${f.rollout}%`],
    ['for', f.subjects.length > 0 ? f.subjects.join(', ') : '-'],
    ['where', f.constraints.length > 0 ? f.constraints.map(formatConstraint).join(' and ') : '-'],
    ['group', f.group ?? '-'],
    ['description', f.description ?? '-'],
    ['migration', f.migration ?? '-'],
    ['version', f.version],
    ['fully on since', f.fullyOnSince?.toISOString() ?? '-'],
    ['created', f.createdAt.toISOString()],
    ['updated', f.updatedAt.toISOString()],
  ];
  for (const [k, v] of rows) out.line(`${`${k}:`.padEnd(16)}${escapeControl(String(v))}`);
}

function change(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string {
  if (!before) return after ? `created ${describe(after)}` : '';
  if (!after) return `deleted (was ${describe(before)})`;
  const diffs = Object.keys(after)
    .filter((k) => k !== 'version' && JSON.stringify(shown(k, before[k])) !== JSON.stringify(shown(k, after[k])))
    .map((k) => `${k}: ${JSON.stringify(shown(k, before[k]))} → ${JSON.stringify(shown(k, after[k]))}`);
  return diffs.join(', ') || 'no change';
}

/** Audit rows written before targeting existed have no subjects/constraints: they were empty. Conditions read as typed. */
function shown(key: string, value: unknown): unknown {
  if (key === 'subjects') return value ?? [];
  if (key === 'constraints') return ((value ?? []) as Constraint[]).map(formatConstraint);
  return value;
}

function describe(s: Record<string, unknown>): string {
  return state({
    enabled: Boolean(s.enabled),
    rollout: Number(s.rollout),
    retired: Boolean(s.retired),
    subjects: (s.subjects ?? []) as string[],
    constraints: (s.constraints ?? []) as Constraint[],
  });
}
