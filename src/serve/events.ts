/**
 * `GET /api/events`: server-sent events for the console and for scripts.
 * One poller per server (running only while someone listens) reads a cheap
 * fingerprint of the curtain schema and the backfill checkpoints:
 * - `state` ({ version }): something shown changed (a phase, a flag, an
 *   audit row, a snapshot; telemetry once a minute, as it is aggregated by
 *   the minute) — fetch again;
 * - `progress` ([BackfillView]): backfill lines, whenever rows advanced.
 * Flag changes also arrive from the flags client's LISTEN, without waiting
 * for the next poll.
 */
import type { ServerResponse } from 'node:http';
import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import type { ProgressTracker } from './progress.js';

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  pool: pg.Pool;
  schema: string;
  progress: ProgressTracker;
  /** How often the fingerprint is read while someone listens (default 1000 ms). */
  pollMs?: number;
}

/**
 * The subscribers of `/api/events` and the poller that feeds them.
 *
 * @example
 * const hub = new EventHub({ pool, schema: 'curtain', progress });
 * app.get('/api/events', (req, reply) => { reply.hijack(); hub.subscribe(reply.raw); });
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = '';
  private progressPrint = '';
  private version = 0;
  private polling = false;
  private closed = false;
  private lastPing = Date.now();

  constructor(private readonly options: EventHubOptions) {}

  /** Start streaming to a response (headers included); ends when the client goes away or the hub closes. */
  subscribe(res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    // A newcomer gets the current state at once.
    this.send(res, 'state', { version: this.version });
    if (this.progressPrint) this.send(res, 'progress', JSON.parse(this.progressPrint));
    this.start();
  }

  /** Announce a change now (e.g. a flag change seen by the flags client). */
  changed(): void {
    this.version++;
    this.broadcast('state', { version: this.version });
  }

  /** Number of open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** End every stream and stop polling. */
  close(): void {
    this.closed = true;
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private start(): void {
    if (this.timer || this.closed) return;
    const every = this.options.pollMs ?? 1000;
    this.timer = setInterval(() => void this.poll(), every);
    this.timer.unref();
    void this.poll();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    if (Date.now() - this.lastPing > 15_000) {
      // A comment line keeps idle streams open through proxies.
      this.lastPing = Date.now();
      for (const res of this.clients) res.write(': ping\n\n');
    }
    try {
      const s = quoteIdent(this.options.schema);
      const { rows } = await this.options.pool.query(
        `SELECT (SELECT max(id) FROM ${s}.migration_events) AS events,
                (SELECT max(updated_at) FROM ${s}.migrations) AS migrations,
                (SELECT max(id) FROM ${s}.flag_events) AS flags,
                (SELECT count(*) || '/' || COALESCE(max(created_at)::text, '') FROM ${s}.snapshots) AS snapshots,
                (SELECT max(updated_at) FROM ${s}.backfill_control) AS control,
                (SELECT max(window_start) FROM ${s}.flag_usage) AS usage,
                (SELECT count(*) FROM ${s}.backfill_checkpoints WHERE done) AS finished`,
      );
      const print = JSON.stringify(rows[0]);
      if (print !== this.fingerprint) {
        const first = this.fingerprint === '';
        this.fingerprint = print;
        if (!first) this.changed();
      }
      const progress = await this.options.progress.read(this.options.pool);
      const progressPrint = JSON.stringify(progress);
      if (progressPrint !== this.progressPrint) {
        this.progressPrint = progressPrint;
        this.broadcast('progress', progress);
      }
    } catch {
      // The database is away: streams stay open, the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  private broadcast(event: string, data: unknown): void {
    for (const res of this.clients) this.send(res, event, data);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    // JSON has no raw newlines, so one data line carries it.
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
