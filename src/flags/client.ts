/**
 * The flags client: every flag in memory, evaluated synchronously, kept
 * current by LISTEN/NOTIFY with a polling safety net, and still answering
 * (last known values, or the backup file) while the database is away.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { ownConnectionErrors } from '../db/pool-errors.js';
import { DEFAULT_SCHEMA } from '../store/store.js';
import { flagChannel } from '../store/channel.js';
import { readBackup, writeBackup } from './backup.js';
import {
  compileFlags,
  dependsOnContext,
  evaluateCompiled,
  invalidKey,
  isOn,
  UNKNOWN_RESULT,
  type CompiledFlag,
  type EvaluationContext,
  type EvaluationResult,
  type FlagDefinition,
} from './evaluate.js';
import { isValidFlagKey } from './keys.js';
import { ChangeListener } from './listener.js';
import { changeFlag } from './ownership.js';
import { retireFlag, type RetireResult } from './retire.js';
import { flagHistory, flagsVersion, listFlags, type ChangeMeta, type FlagEvent, type FlagPatch, type FlagRow } from './store.js';
import type { FlagKey } from './types.js';
import { clientIdentity, trackEventProblem, UsageRecorder } from './usage.js';
import { UnknownKeys, type UnknownSummary } from './unknown.js';

/** Options of {@link createFlags}. */
export interface CreateFlagsOptions {
  /** Connection string; the client then owns a small pool. */
  connectionString?: string;
  /** Or an existing pool (one connection is held for LISTEN). */
  pool?: pg.Pool;
  /** Schema where curtain keeps its state (default `curtain`). */
  schema?: string;
  /** JSON file with the last loaded flags, written after every load and read when the database is down at start. */
  backupFile?: string;
  /** How often the version is polled (default 5000 ms). It is the only source of changes with `listen: false`. */
  pollIntervalMs?: number;
  /** Use LISTEN/NOTIFY (default true). Turn off behind a transaction-mode pooler. */
  listen?: boolean;
  /** Name reported in telemetry (default: the script's name). */
  appName?: string;
  /** Usage telemetry (default on, flushed every 5 s); `false` turns it off. */
  telemetry?: boolean | { flushIntervalMs?: number };
  /** Where warnings go (default `console`). */
  logger?: Pick<Console, 'warn'>;
  /** Warn once per unknown key (default true); a server answering anyone turns it off and reports {@link FlagsClient.unknownKeys} instead. */
  warnUnknown?: boolean;
  /** Timeout for opening a connection of an owned pool (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Backoff between reconnections of the LISTEN connection. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

/** `ready`: current; `stale`: serving last known values; `error`: nothing loaded yet (all false); `closed`. */
export type FlagsStatus = 'ready' | 'stale' | 'error' | 'closed';

/** What a reload changed. */
export interface FlagChange {
  /** Keys created, changed or deleted. */
  keys: string[];
  version: number;
}

interface Events {
  change: [FlagChange];
  status: [FlagsStatus, Error | undefined];
}

/** Most keys warned about: a loop over generated keys must not grow memory. */
const MAX_WARNED = 1000;

/**
 * A running flags client. Create it with {@link createFlags}.
 */
export class FlagsClient {
  private table = new Map<string, CompiledFlag>();
  private currentVersion = -1;
  private currentStatus: FlagsStatus = 'error';
  private readonly emitter = new EventEmitter();
  private readonly warned = new Set<string>();
  private readonly unknown = new UnknownKeys();
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly schema: string;
  private readonly listener: ChangeListener | undefined;
  private readonly usage: UsageRecorder | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private backupWrite: Promise<void> = Promise.resolve();
  private started = false;
  private lastError: string | undefined;

  /** @internal use {@link createFlags} */
  constructor(private readonly options: CreateFlagsOptions) {
    if (!options.pool && !options.connectionString) throw new TypeError('createFlags needs a connectionString or a pool');
    this.schema = options.schema ?? DEFAULT_SCHEMA;
    const appName = options.appName ?? defaultAppName();
    this.ownsPool = !options.pool;
    this.pool =
      options.pool ??
      new pg.Pool({
        connectionString: options.connectionString,
        max: 3,
        application_name: `curtain flags: ${appName}`.slice(0, 63),
        connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
        keepAlive: true,
      });
    // Idle or checked-out clients losing the server must not crash the app.
    if (this.ownsPool) ownConnectionErrors(this.pool);
    this.emitter.on('error', () => {});
    if (options.listen !== false) {
      this.listener = new ChangeListener(
        this.pool,
        flagChannel(this.schema),
        {
          notify: () => void this.safeReload(),
          connected: () => {
            if (this.started) void this.safeReload();
          },
          disconnected: (err) => this.degrade(err),
        },
        { minDelayMs: options.reconnect?.minDelayMs ?? 100, maxDelayMs: options.reconnect?.maxDelayMs ?? 5_000 },
      );
    }
    if (options.telemetry !== false) this.usage = new UsageRecorder(this.schema, clientIdentity(appName));
  }

  /** Current health; see {@link FlagsStatus}. */
  get status(): FlagsStatus {
    return this.currentStatus;
  }

  /** Version of the loaded flags (the highest flag or tombstone version); -1 before any load. */
  get version(): number {
    return this.currentVersion;
  }

  /** This client's id in `<schema>.clients` (undefined without telemetry). */
  get clientId(): string | undefined {
    return this.usage?.identity.id;
  }

  /**
   * Whether `key` is on for `context`: synchronous, from memory, never throws.
   * Unknown or invalid keys are false (with one warning per key).
   *
   * @example
   * if (flags.isEnabled('checkout.v2', { targetingKey: user.id })) newCheckout(); else oldCheckout();
   */
  isEnabled(key: FlagKey, context?: EvaluationContext): boolean {
    const flag = this.table.get(key);
    if (flag === undefined) return this.miss(key);
    let value: boolean;
    try {
      value = isOn(flag, context);
    } catch {
      value = false; // a hostile context (throwing getter) must not reach the caller
    }
    if (value) flag.trueCount++;
    else flag.falseCount++;
    flag.last = value;
    return value;
  }

  /**
   * The value with its reason (STATIC, SPLIT, DISABLED, DEFAULT, ERROR).
   *
   * @example
   * flags.details('checkout.v2', { targetingKey: 'u1' }); // { value: true, reason: 'SPLIT', variant: 'on' }
   */
  details(key: FlagKey, context?: EvaluationContext): EvaluationResult {
    const flag = this.table.get(key);
    if (flag === undefined) {
      this.miss(key);
      return isValidFlagKey(key) ? UNKNOWN_RESULT : invalidKey(key);
    }
    let result: EvaluationResult;
    try {
      result = evaluateCompiled(flag, context);
    } catch {
      result = { value: false, reason: 'ERROR', errorCode: 'INVALID_CONTEXT' };
    }
    if (result.value) flag.trueCount++;
    else flag.falseCount++;
    flag.last = result.value;
    return result;
  }

  /**
   * Record that `event` (e.g. `'error'`) happened on the path `key` chose:
   * counted per value of the flag (true = new path, false = old) in the
   * telemetry, so the error rate of each side can be compared
   * (`errorRates`). With a context, the value is the flag's value for that
   * context; without one, the value this process last evaluated. Unknown
   * flags, invalid event names and a client without telemetry record
   * nothing. Synchronous; never throws.
   *
   * @example
   * try { newCheckout(); } catch (err) { flags.track('checkout.v2', 'error', { targetingKey: user.id }); throw err; }
   */
  track(key: FlagKey, event: string, context?: EvaluationContext): void {
    try {
      if (!this.usage || !this.validEvent(event)) return;
      const flag = this.table.get(key);
      if (flag === undefined) return;
      this.usage.countTrack(flag.key, event, context !== undefined ? isOn(flag, context) : (flag.last ?? isOn(flag, undefined)));
    } catch {
      // telemetry must not break the caller
    }
  }

  /**
   * {@link track} for every flag this process has evaluated whose value
   * depends on the context (targeting or a partial rollout): what an event
   * without a flag key (OpenFeature's `client.track(name, context)`) is
   * attributed to.
   *
   * @example
   * flags.trackAll('error', { targetingKey: user.id });
   */
  trackAll(event: string, context?: EvaluationContext): void {
    try {
      if (!this.usage || !this.validEvent(event)) return;
      for (const flag of this.table.values()) {
        if (flag.last === undefined || !dependsOnContext(flag)) continue;
        this.usage.countTrack(flag.key, event, context !== undefined ? isOn(flag, context) : flag.last);
      }
    } catch {
      // telemetry must not break the caller
    }
  }

  /** True when `key` is a loaded flag. */
  has(key: string): boolean {
    return this.table.has(key);
  }

  /**
   * The loaded flags (as persisted), ordered by key.
   *
   * @example
   * for (const f of flags.list()) console.log(f.key, f.enabled, f.rollout);
   */
  list(): FlagDefinition[] {
    return [...this.table.values()].map((f) => f.definition).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /**
   * Subscribe to `change` (flags reloaded with differences) or `status`
   * (ready/stale/error/closed). Returns an unsubscribe function. A throwing
   * listener is ignored.
   *
   * @example
   * const off = flags.on('change', ({ keys }) => console.log('changed', keys));
   */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    const safe = (...args: unknown[]) => {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch {
        // listeners must not break the client
      }
    };
    this.emitter.on(event, safe);
    return () => this.emitter.off(event, safe);
  }

  /**
   * Create or change a flag (admin): audit row, version bump and NOTIFY in one
   * transaction; this client reloads before resolving.
   *
   * @example
   * await flags.set('checkout.v2', { enabled: true, rollout: 25 }, { actor: 'ops', reason: 'canary' });
   */
  async set(key: string, patch: FlagPatch, meta: ChangeMeta = {}): Promise<FlagRow> {
    // Refused (GuardRefusal) while a migration owns the flag: it moves only through switch.
    const row = await changeFlag(this.pool, this.schema, key, patch, meta);
    await this.safeReload();
    return row;
  }

  /**
   * Delete a flag whose migration is contracted (or that has none); refused
   * (GuardRefusal) otherwise. Source references are not scanned here — the
   * CLI does that.
   *
   * @example
   * await flags.retire('users.split-name', { reason: 'contracted' });
   */
  async retire(key: string, meta: ChangeMeta = {}): Promise<RetireResult> {
    const result = await retireFlag(this.pool, this.schema, key, meta);
    await this.safeReload();
    return result;
  }

  /**
   * A flag's audit trail, newest first.
   *
   * @example
   * const events = await flags.history('checkout.v2');
   */
  history(key: string, options: { limit?: number } = {}): Promise<FlagEvent[]> {
    return flagHistory(this.pool, this.schema, key, options);
  }

  /**
   * Evaluations of keys that are not flags, counted in memory only (never
   * written to the telemetry tables); `reset` starts a new count.
   *
   * @example
   * const { evaluations, top } = flags.unknownKeys({ reset: true });
   * if (evaluations) console.warn(`unknown flags evaluated: ${top.map((t) => t.key).join(', ')}`);
   */
  unknownKeys(options: { top?: number; reset?: boolean } = {}): UnknownSummary {
    return this.unknown.summary(options);
  }

  /** Reload now (normally not needed). Rejects when the database cannot be read. */
  refresh(): Promise<void> {
    return this.reload();
  }

  /** Stop listening and polling, flush telemetry, release connections. */
  async close(): Promise<void> {
    if (this.currentStatus === 'closed') return;
    for (const t of this.timers) clearInterval(t);
    await this.listener?.close();
    // Best effort: a database that is down must not hold up shutdown.
    if (this.usage) await Promise.race([this.flushUsage().catch(() => {}), sleep(2_000)]);
    await this.backupWrite;
    this.setStatus('closed');
    this.emitter.removeAllListeners();
    if (this.ownsPool) await this.pool.end().catch(() => {});
  }

  /** @internal */
  async start(): Promise<void> {
    await this.listener?.start();
    try {
      await this.reload();
    } catch (err) {
      await this.restoreBackup(err as Error);
    }
    this.started = true;
    const poll = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 5_000);
    poll.unref();
    this.timers.push(poll);
    if (this.usage) {
      const every = typeof this.options.telemetry === 'object' ? (this.options.telemetry.flushIntervalMs ?? 5_000) : 5_000;
      const flush = setInterval(() => void this.flushUsage().catch(() => {}), every);
      flush.unref();
      this.timers.push(flush);
      void this.flushUsage().catch(() => {}); // register now
    }
  }

  private validEvent(event: unknown): event is string {
    const problem = trackEventProblem(event);
    if (problem === undefined) return true;
    const id = `event:${String(event).slice(0, 40)}`;
    if (!this.warned.has(id) && this.warned.size < MAX_WARNED) {
      this.warned.add(id);
      this.warn(`${problem}; not tracked`);
    }
    return false;
  }

  private miss(key: unknown): false {
    const id = typeof key === 'string' ? key : `<${typeof key}>`;
    const valid = isValidFlagKey(key);
    this.unknown.count(valid ? id : '<invalid key>');
    if (this.warned.has(id) || this.options.warnUnknown === false) return false;
    if (this.warned.size < MAX_WARNED) {
      this.warned.add(id);
      const why = valid ? `unknown flag "${key}" evaluates to false` : `${invalidKey(key).errorMessage} evaluates to false`;
      this.warn(`${why}${valid && this.currentStatus === 'ready' ? ' (is it a typo? `migrate codegen` can type-check keys)' : ''}`);
    }
    return false;
  }

  private async poll(): Promise<void> {
    if (this.currentStatus === 'closed') return;
    await this.listener?.ping();
    try {
      const version = await flagsVersion(this.pool, this.schema);
      if (version !== this.currentVersion) await this.reload();
      else this.readOk();
    } catch (err) {
      this.degrade(err as Error);
    }
  }

  private async safeReload(): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      this.degrade(err as Error);
    }
  }

  // Coalesce: while one load runs, further requests collapse into one more load.
  private reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.loadOnce();
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private async loadOnce(): Promise<void> {
    // Version first: a change landing between the two reads makes the next poll reload again.
    const version = await flagsVersion(this.pool, this.schema);
    const rows = await listFlags(this.pool, this.schema);
    const defs = rows.map(toDefinition);
    this.apply(defs, version);
    this.readOk();
    if (this.options.backupFile) this.saveBackup(defs, version);
  }

  private apply(defs: FlagDefinition[], version: number): void {
    const next = compileFlags(defs);
    const changed: string[] = [];
    for (const [key, flag] of next) {
      const old = this.table.get(key);
      if (!old || !sameDefinition(old.definition, flag.definition)) changed.push(key);
    }
    for (const key of this.table.keys()) if (!next.has(key)) changed.push(key);
    for (const [key, flag] of next) flag.last = this.table.get(key)?.last;
    // Counts made on the old table are filed under its version.
    this.usage?.harvest(this.table, this.currentVersion);
    const first = this.currentVersion === -1;
    this.table = next;
    this.currentVersion = version;
    if (changed.length > 0 && !first) this.emitter.emit('change', { keys: changed.sort(), version } satisfies FlagChange);
  }

  private async restoreBackup(err: Error): Promise<void> {
    const backup = this.options.backupFile ? await readBackup(this.options.backupFile, this.schema) : undefined;
    if (backup && this.currentVersion === -1) {
      this.apply(backup.flags, backup.version);
      this.warn(`database unreachable (${err.message}); serving ${backup.flags.length} flags from ${this.options.backupFile} saved at ${backup.savedAt}`);
      this.setStatus('stale', err);
    } else if (this.currentVersion === -1) {
      this.warn(`database unreachable (${err.message}) and no backup file: every flag is false until it is back`);
      this.setStatus('error', err);
    } else this.degrade(err);
  }

  // The database answered: current, unless the change feed is down (then only as fresh as the last poll).
  private readOk(): void {
    this.setStatus(this.listener === undefined || this.listener.connected ? 'ready' : 'stale');
  }

  private degrade(err: Error): void {
    if (this.currentStatus === 'closed') return;
    if (this.lastError !== err.message && this.currentStatus === 'ready') this.warn(`flags may be stale: ${err.message}; serving last known values`);
    this.lastError = err.message;
    this.setStatus(this.currentVersion === -1 ? 'error' : 'stale', err);
  }

  private setStatus(status: FlagsStatus, error?: Error): void {
    if (this.currentStatus === status || this.currentStatus === 'closed') return;
    this.currentStatus = status;
    if (status === 'ready') this.lastError = undefined;
    this.emitter.emit('status', status, error);
  }

  private saveBackup(defs: FlagDefinition[], version: number): void {
    const file = this.options.backupFile!;
    this.backupWrite = this.backupWrite
      .then(() => writeBackup(file, this.schema, version, defs))
      .catch((err: Error) => this.warn(`cannot write flags backup ${file}: ${err.message}`));
  }

  private async flushUsage(): Promise<void> {
    const everyMs = typeof this.options.telemetry === 'object' ? (this.options.telemetry.flushIntervalMs ?? 5_000) : 5_000;
    await this.usage?.flush(this.pool, this.table, { version: this.currentVersion, everyMs });
  }

  private warn(message: string): void {
    try {
      (this.options.logger ?? console).warn(`curtain flags: ${message}`);
    } catch {
      // a broken logger must not break evaluation
    }
  }
}

/**
 * Start a flags client: loads every flag (or the backup file when the
 * database is down), then listens for changes. Resolves even when the
 * database is unreachable — check `status`.
 *
 * @example
 * const flags = await createFlags({ connectionString: process.env.DATABASE_URL, backupFile: '.flags.json' });
 * flags.isEnabled('checkout.v2', { targetingKey: user.id });
 * await flags.close();
 */
export async function createFlags(options: CreateFlagsOptions): Promise<FlagsClient> {
  const client = new FlagsClient(options);
  await client.start();
  return client;
}

function toDefinition(r: FlagRow): FlagDefinition {
  return {
    key: r.key,
    enabled: r.enabled,
    rollout: r.rollout,
    group: r.group,
    retired: r.retired,
    subjects: r.subjects,
    constraints: r.constraints,
    version: r.version,
    createdAt: r.createdAt instanceof Date ? r.createdAt.toISOString() : r.createdAt,
    description: r.description,
    migration: r.migration,
  };
}

function sameDefinition(a: FlagDefinition, b: FlagDefinition): boolean {
  return a.enabled === b.enabled && a.rollout === b.rollout && a.group === b.group && a.retired === b.retired && a.version === b.version;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function defaultAppName(): string {
  const script = process.argv[1];
  return script ? script.split(/[\\/]/).pop()! : 'node';
}
