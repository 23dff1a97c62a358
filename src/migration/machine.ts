/**
 * The lifecycle as one explicit machine: for every command and every phase,
 * whether the command runs, where it leads, and, when it does not run, why
 * and which command does work from here. `status`, `plan`, the CLI's target
 * selection and the migrator all derive from this table; no other module
 * spells a phase out.
 */

/** Where a migration is. `pending` means the database has no live record of it (never expanded, or aborted). */
export type Phase = 'pending' | 'expanding' | 'expanded' | 'switched' | 'contracting' | 'contracted' | 'aborting';

/** Every phase, in lifecycle order. */
export const PHASES: readonly Phase[] = ['pending', 'expanding', 'expanded', 'switched', 'contracting', 'contracted', 'aborting'];

/** What the store may hold besides the phases above: an aborted migration, which the machine treats as pending. */
export type StoredPhase = Exclude<Phase, 'pending'> | 'aborted';

/** The lifecycle commands. `switch-off` is `migrate switch <name> --off`. */
export type Command = 'expand' | 'switch' | 'switch-off' | 'contract' | 'abort';

export const COMMANDS: readonly Command[] = ['expand', 'switch', 'switch-off', 'contract', 'abort'];

/** What a command does in a phase. */
export type Outcome =
  | {
      action: 'run';
      /** The phase recorded while the command works (a crash leaves it there, and the same command resumes). */
      during?: Phase;
      /** The phase it ends in. */
      to: Phase;
      /** The command continues an interrupted run of itself. */
      resumes?: boolean;
    }
  | { action: 'noop' }
  | {
      action: 'refuse';
      /** `usage` (exit 2) for a command that makes no sense here; `guard` (exit 3) for one that is not yet safe. */
      as: 'usage' | 'guard';
      /** The guard that refuses, for `as: 'guard'`. */
      guard?: string;
      /** Why, with `{name}` and `{flag}` placeholders. */
      why: string;
      /** What to do instead, naming a command that works from here. */
      hint: string;
    };

const refuse = (why: string, hint: string): Outcome => ({ action: 'refuse', as: 'usage', why, hint });
const EXPAND_FIRST = refuse('{name} is not expanded', 'run "migrate expand {name}" first');
const FINISH_EXPAND = refuse('{name} is still expanding (an expand was interrupted)', 'rerun "migrate expand {name}" to finish it, or "migrate abort {name}" to undo it');
const FINISH_CONTRACT = refuse(
  "{name} is contracting: contract's destructive half has started",
  'fix what stopped it and rerun "migrate contract {name}" to finish it',
);
const CONTRACTED = refuse('{name} is contracted: its flag {flag} is locked on and the old state is gone', 'to go back, restore the pre-contract snapshot');
const FINISH_ABORT = refuse('{name} is aborting (an abort was interrupted)', 'rerun "migrate abort {name}" to finish it');

/** The transition table: TABLE[phase][command]. */
export const TABLE: Record<Phase, Record<Command, Outcome>> = {
  pending: {
    expand: { action: 'run', during: 'expanding', to: 'expanded' },
    switch: EXPAND_FIRST,
    'switch-off': EXPAND_FIRST,
    contract: EXPAND_FIRST,
    abort: refuse('{name} is not expanded: there is nothing to abort', 'run "migrate expand {name}" to start it'),
  },
  expanding: {
    expand: { action: 'run', during: 'expanding', to: 'expanded', resumes: true },
    switch: FINISH_EXPAND,
    'switch-off': FINISH_EXPAND,
    contract: FINISH_EXPAND,
    abort: { action: 'run', during: 'aborting', to: 'pending' },
  },
  expanded: {
    expand: { action: 'noop' },
    switch: { action: 'run', to: 'switched' },
    'switch-off': { action: 'noop' },
    contract: { action: 'refuse', as: 'guard', guard: 'flag-fully-on', why: 'flag {flag} is off', hint: 'run "migrate switch {name}" (100%) first' },
    abort: { action: 'run', during: 'aborting', to: 'pending' },
  },
  switched: {
    expand: { action: 'noop' },
    switch: { action: 'run', to: 'switched' },
    'switch-off': { action: 'run', to: 'expanded' },
    contract: { action: 'run', during: 'contracting', to: 'contracted' },
    abort: { action: 'run', during: 'aborting', to: 'pending' },
  },
  contracting: {
    expand: { action: 'noop' },
    switch: FINISH_CONTRACT,
    'switch-off': FINISH_CONTRACT,
    contract: { action: 'run', during: 'contracting', to: 'contracted', resumes: true },
    abort: FINISH_CONTRACT,
  },
  contracted: {
    expand: { action: 'noop' },
    switch: CONTRACTED,
    'switch-off': CONTRACTED,
    contract: { action: 'noop' },
    abort: CONTRACTED,
  },
  aborting: {
    expand: FINISH_ABORT,
    switch: FINISH_ABORT,
    'switch-off': FINISH_ABORT,
    contract: FINISH_ABORT,
    abort: { action: 'run', during: 'aborting', to: 'pending', resumes: true },
  },
};

/** Phases with no way forward by design: the end of the lifecycle. */
export const TERMINAL: readonly Phase[] = ['contracted'];

/**
 * What `command` does to a migration in `phase`.
 *
 * @example
 * outcome('contract', 'switched') // { action: 'run', during: 'contracting', to: 'contracted' }
 */
export function outcome(command: Command, phase: Phase): Outcome {
  return TABLE[phase][command];
}

/** Whether `command` does work on a migration in `phase` (runs or resumes). */
export function runs(command: Command, phase: Phase): boolean {
  return TABLE[phase][command].action === 'run';
}

/** The phase a stored row means to the machine. */
export function phaseOf(stored: StoredPhase | undefined): Phase {
  return stored === undefined || stored === 'aborted' ? 'pending' : stored;
}

/** Between the start of expand and the end of contract or abort: its columns are claimed. */
export function isInFlight(phase: Phase): boolean {
  return phase !== 'pending' && phase !== 'contracted';
}

/** The file has been applied, so it must not change any more. */
export function isApplied(phase: Phase): boolean {
  return phase !== 'pending';
}

/** Interrupted: a command stopped half-way and the same command resumes it. */
export function isInterrupted(phase: Phase): boolean {
  return COMMANDS.some((c) => {
    const o = TABLE[phase][c];
    return o.action === 'run' && o.resumes === true;
  });
}

/** The commands that do work from `phase`, in lifecycle order. */
export function commandsFrom(phase: Phase): Command[] {
  return COMMANDS.filter((c) => runs(c, phase));
}

/**
 * Every command that may still run on a migration in `phase`, following the
 * table forward (for `migrate plan`): from `pending` that is the whole
 * lifecycle; from `contracting` only the rest of contract.
 *
 * @example
 * commandsAhead('expanded') // ['switch', 'switch-off', 'contract', 'abort']
 */
export function commandsAhead(phase: Phase): Command[] {
  const seen = new Set<Phase>([phase]);
  const found = new Set<Command>();
  const queue: Phase[] = [phase];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const c of COMMANDS) {
      const o = TABLE[p][c];
      if (o.action !== 'run') continue;
      found.add(c);
      // Abort ends the lifecycle (back to pending); do not walk around the loop again.
      if (c !== 'abort' && !seen.has(o.to)) {
        seen.add(o.to);
        queue.push(o.to);
      }
    }
  }
  return COMMANDS.filter((c) => found.has(c));
}

/** Fill the `{name}` and `{flag}` placeholders of a table entry. */
export function describe(text: string, names: { name: string; flag?: string }): string {
  return text.replaceAll('{name}', names.name).replaceAll('{flag}', names.flag ?? '(no flag)');
}

/**
 * The whole table as a mermaid state diagram (for the README).
 *
 * @example
 * console.log(mermaid());
 */
export function mermaid(): string {
  const lines = ['stateDiagram-v2', '    [*] --> pending'];
  for (const phase of PHASES) {
    for (const command of COMMANDS) {
      const o = TABLE[phase][command];
      // A resumed command finishes along the edge its first run drew.
      if (o.action !== 'run' || o.resumes) continue;
      if (o.during && o.during !== phase) lines.push(`    ${phase} --> ${o.during}: ${command}`);
      if (o.during && o.during !== o.to) lines.push(`    ${o.during} --> ${o.to}: ${command} done`);
      if (!o.during && o.to !== phase) lines.push(`    ${phase} --> ${o.to}: ${command}`);
    }
  }
  lines.push('    contracted --> [*]');
  return [...new Set(lines)].join('\n');
}

/** How the store records a phase the machine leads to (`pending` after an abort is stored as `aborted`). */
export function toStored(phase: Phase): StoredPhase {
  return phase === 'pending' ? 'aborted' : phase;
}

/**
 * The whole table as a markdown table, phases down, commands across (for the README).
 *
 * @example
 * console.log(markdownTable());
 */
export function markdownTable(): string {
  const cell = (o: Outcome): string => {
    if (o.action === 'noop') return 'nothing to do';
    if (o.action === 'run') return `→ ${o.during && o.during !== o.to ? `${o.during} → ` : ''}${o.to}${o.resumes ? ' (resumes)' : ''}`;
    return `refused (exit ${o.as === 'guard' ? 3 : 2})`;
  };
  const label = (c: Command) => (c === 'switch-off' ? '`switch --off`' : `\`${c}\``);
  const lines = [`| phase | ${COMMANDS.map(label).join(' | ')} |`, `|---|${COMMANDS.map(() => '---').join('|')}|`];
  for (const p of PHASES) lines.push(`| \`${p}\` | ${COMMANDS.map((c) => cell(TABLE[p][c])).join(' | ')} |`);
  return lines.join('\n');
}

/** Expand has started and not finished: its backfill is the one running (or resumable). */
export function isExpanding(phase: Phase): boolean {
  return isApplied(phase) && runs('expand', phase);
}
