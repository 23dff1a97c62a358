/**
 * An OpenFeature server provider backed by the curtain flags client. It only
 * imports types from `@openfeature/server-sdk` (and carries its own tiny event
 * emitter), so the SDK stays an optional peer of curtain.
 */
import type {
  AnyProviderEvent,
  ErrorCode,
  EvaluationContext as OFContext,
  EventContext,
  EventHandler,
  JsonValue,
  Logger,
  Provider,
  ProviderEventEmitter,
  ResolutionDetails,
  TrackingEventDetails,
} from '@openfeature/server-sdk';
import { createFlags, type CreateFlagsOptions, type FlagsClient, type FlagsStatus } from './client.js';
import type { FlagKey } from './types.js';

/** OpenFeature's event names (string values of `ProviderEvents`). */
const EVENTS = {
  ready: 'PROVIDER_READY',
  error: 'PROVIDER_ERROR',
  stale: 'PROVIDER_STALE',
  changed: 'PROVIDER_CONFIGURATION_CHANGED',
} as const;

/** Options of {@link CurtainProvider}: an existing client, or options to create one. */
export type CurtainProviderOptions = { flags: FlagsClient } | CreateFlagsOptions;

/**
 * Boolean flags from curtain for the OpenFeature server SDK. The evaluation
 * context is used whole: `targetingKey` is the subject, other attributes
 * meet the flag's constraints. Reasons pass through (STATIC,
 * TARGETING_MATCH, SPLIT, DISABLED, DEFAULT); unknown keys resolve with
 * FLAG_NOT_FOUND and non-boolean requests with TYPE_MISMATCH, so the SDK
 * returns the caller's default. The client's health drives READY / STALE /
 * ERROR, and every reload with changes emits PROVIDER_CONFIGURATION_CHANGED.
 *
 * @example
 * import { OpenFeature } from '@openfeature/server-sdk';
 * await OpenFeature.setProviderAndWait(new CurtainProvider({ connectionString: process.env.DATABASE_URL }));
 * const client = OpenFeature.getClient();
 * await client.getBooleanValue('checkout.v2', false, { targetingKey: user.id });
 */
export class CurtainProvider implements Provider {
  readonly metadata = { name: 'curtain' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new ProviderEvents();
  private client: FlagsClient | undefined;
  private readonly owned: boolean;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly options: CurtainProviderOptions) {
    this.owned = !('flags' in options);
    if ('flags' in options) this.client = options.flags;
  }

  /** The underlying client, once initialized. */
  get flags(): FlagsClient | undefined {
    return this.client;
  }

  async initialize(): Promise<void> {
    if (!this.client) this.client = await createFlags(this.options as CreateFlagsOptions);
    const client = this.client;
    this.unsubscribe.push(
      client.on('change', ({ keys }) => this.events.emit(EVENTS.changed as AnyProviderEvent, { flagsChanged: keys } as EventContext)),
      client.on('status', (status, error) => this.onStatus(status, error)),
    );
    // Nothing loaded at all (no database, no backup): the SDK marks the provider ERROR
    // and we emit READY once the client recovers.
    if (client.status === 'error') throw new Error('curtain flags: database unreachable and no backup loaded');
    if (client.status === 'stale') queueMicrotask(() => this.events.emit(EVENTS.stale as AnyProviderEvent, { message: 'serving last known flags' } as EventContext));
  }

  async onClose(): Promise<void> {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.owned) await this.client?.close();
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: OFContext, _logger?: Logger): Promise<ResolutionDetails<boolean>> {
    const client = this.client;
    if (!client) return error(defaultValue, 'PROVIDER_NOT_READY', 'provider not initialized');
    // The whole context: targetingKey is the subject (allowlist, rollout), other attributes feed the constraints.
    const r = client.details(flagKey as FlagKey, context ?? {});
    if (r.errorCode) return error(defaultValue, r.errorCode, r.errorMessage ?? r.errorCode);
    return { value: r.value, reason: r.reason, variant: r.variant };
  }

  /**
   * OpenFeature's Tracking API (`client.track(name, context, details)`):
   * counted per value of the flag, like `flags.track`. Name the flag in
   * `details.flagKey`; without it the event counts for every flag this
   * process evaluated whose value depends on the context. An empty context
   * counts the value this process last evaluated.
   *
   * @example
   * OpenFeature.getClient().track('error', { targetingKey: user.id }, { flagKey: 'checkout.v2' });
   */
  track(trackingEventName: string, context: OFContext, trackingEventDetails: TrackingEventDetails): void {
    const client = this.client;
    if (!client) return;
    const flagKey = trackingEventDetails?.flagKey;
    // The SDK passes {} when the caller gave no context: then the value this process last evaluated counts.
    const ctx = context && Object.keys(context).length > 0 ? context : undefined;
    if (typeof flagKey === 'string') client.track(flagKey as FlagKey, trackingEventName, ctx);
    else client.trackAll(trackingEventName, ctx);
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return this.mismatch(flagKey, defaultValue, 'string');
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.mismatch(flagKey, defaultValue, 'number');
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return this.mismatch(flagKey, defaultValue, 'object');
  }

  private mismatch<T>(flagKey: string, defaultValue: T, type: string): ResolutionDetails<T> {
    if (this.client && !this.client.has(flagKey)) return error(defaultValue, 'FLAG_NOT_FOUND', `unknown flag "${flagKey}"`);
    return error(defaultValue, 'TYPE_MISMATCH', `curtain flags are boolean; "${flagKey}" was requested as ${type}`);
  }

  private onStatus(status: FlagsStatus, err: Error | undefined): void {
    if (status === 'ready') this.events.emit(EVENTS.ready as AnyProviderEvent);
    else if (status === 'stale') this.events.emit(EVENTS.stale as AnyProviderEvent, { message: err?.message ?? 'serving last known flags' } as EventContext);
    else if (status === 'error') this.events.emit(EVENTS.error as AnyProviderEvent, { message: err?.message ?? 'flags unavailable' } as EventContext);
  }
}

function error<T>(value: T, code: string, message: string): ResolutionDetails<T> {
  return { value, reason: 'ERROR', errorCode: code as ErrorCode, errorMessage: message };
}

/**
 * A minimal `ProviderEventEmitter`: the SDK subscribes through `addHandler`
 * and we call its handlers. Handlers run asynchronously and their failures
 * are ignored, as in the SDK's own emitter.
 */
class ProviderEvents implements ProviderEventEmitter<AnyProviderEvent> {
  private readonly handlers = new Map<AnyProviderEvent, EventHandler[]>();
  private logger: Logger | undefined;

  emit(eventType: AnyProviderEvent, context?: EventContext): void {
    for (const h of this.getHandlers(eventType)) {
      queueMicrotask(() => {
        try {
          const r = h(context as never);
          if (r && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch((e) => this.logger?.error(e));
        } catch (e) {
          this.logger?.error(e);
        }
      });
    }
  }

  addHandler(eventType: AnyProviderEvent, handler: EventHandler): void {
    this.handlers.set(eventType, [...this.getHandlers(eventType), handler]);
  }

  removeHandler(eventType: AnyProviderEvent, handler: EventHandler): void {
    this.handlers.set(
      eventType,
      this.getHandlers(eventType).filter((h) => h !== handler),
    );
  }

  removeAllHandlers(eventType?: AnyProviderEvent): void {
    if (eventType === undefined) this.handlers.clear();
    else this.handlers.delete(eventType);
  }

  getHandlers(eventType: AnyProviderEvent): EventHandler[] {
    return this.handlers.get(eventType) ?? [];
  }

  setLogger(logger: Logger): this {
    this.logger = logger;
    return this;
  }
}
