/**
 * A dedicated connection LISTENing on the flags channel, reconnected with
 * capped exponential backoff (and jitter, so a fleet does not reconnect in
 * lockstep after a database restart).
 */
import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';

/** What the listener reports. */
export interface ListenerEvents {
  /** A NOTIFY arrived on the channel. */
  notify(payload: string | undefined): void;
  /** LISTEN is (again) in place: whatever happened meanwhile was missed, so reload. */
  connected(): void;
  /** The connection was lost or could not be made; a retry is scheduled. */
  disconnected(error: Error): void;
}

/** Backoff bounds between reconnection attempts. */
export interface Backoff {
  minDelayMs: number;
  maxDelayMs: number;
}

/**
 * Keeps one pool client LISTENing on `channel` for as long as it is open.
 *
 * @example
 * const listener = new ChangeListener(pool, 'curtain_flags', { notify, connected, disconnected });
 * await listener.start();
 */
export class ChangeListener {
  private client: pg.PoolClient | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly channel: string,
    private readonly events: ListenerEvents,
    private readonly backoff: Backoff = { minDelayMs: 100, maxDelayMs: 5_000 },
  ) {}

  /** True while LISTEN is in place. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** First attempt; resolves whether or not it succeeded (a retry is then scheduled). */
  async start(): Promise<boolean> {
    return this.connect();
  }

  /** Check the connection is alive (a dead TCP peer is otherwise silent until written to). */
  async ping(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    // Destroy rather than UNLISTEN and return: no round trip to a database that may be gone.
    client?.release(true);
  }

  private async connect(): Promise<boolean> {
    if (this.closed) return false;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const c = client;
      c.on('notification', (msg) => {
        if (msg.channel === this.channel) this.events.notify(msg.payload);
      });
      // A checked-out client that errors without a listener would crash the process.
      c.on('error', (err) => this.lost(c, err));
      c.on('end', () => this.lost(c, new Error('listener connection ended')));
      await c.query(`LISTEN ${quoteIdent(this.channel)}`);
      if (this.closed) {
        c.release();
        return false;
      }
      this.client = c;
      this.attempt = 0;
      this.events.connected();
      return true;
    } catch (err) {
      if (client) client.release(err as Error);
      this.events.disconnected(err as Error);
      this.schedule();
      return false;
    }
  }

  private lost(client: pg.PoolClient, err: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    try {
      client.release(err);
    } catch {
      // already released
    }
    this.events.disconnected(err);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const base = Math.min(this.backoff.maxDelayMs, this.backoff.minDelayMs * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
    this.timer.unref();
  }
}
