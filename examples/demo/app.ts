import type pg from 'pg';
import type { FlagsClient } from '../../src/flags/index.js';
import { FIRST, LAST } from './schema.js';

/**
 * The shop's application code, with every migration's new path shipped dark
 * behind its flag. Each request evaluates the flags for its user, so during a
 * partial rollout some users take the new path and others the old one, side
 * by side on the same tables.
 */
export class ShopApp {
  constructor(
    private readonly pool: pg.Pool,
    private readonly flags: FlagsClient,
    private readonly userCount: number,
  ) {}

  private on(flag: string, userId: number): boolean {
    return this.flags.isEnabled(flag, { targetingKey: String(userId) });
  }

  /** One random request for a random user. Throws when it fails or reads inconsistent data. */
  async request(userId: number, kind: number): Promise<void> {
    switch (kind % 5) {
      case 0:
        return this.readUser(userId);
      case 1:
        return this.renameUser(userId);
      case 2:
        return this.placeOrder(userId);
      case 3:
        return this.readOrders(userId);
      default:
        return this.signUp(userId);
    }
  }

  private nameColumns(userId: number): string {
    return this.on('users.split-name', userId) ? 'first_name, last_name' : 'full_name';
  }

  private emailColumn(userId: number): string {
    return this.on('users.email-address', userId) ? 'email_address' : 'email';
  }

  async readUser(userId: number): Promise<void> {
    const split = this.on('users.split-name', userId);
    const { rows } = await this.pool.query(`SELECT ${this.nameColumns(userId)}, ${this.emailColumn(userId)} AS email FROM users WHERE id = $1`, [userId]);
    const u = rows[0];
    if (!u) return;
    // Every reader must see a complete user in its own representation.
    if (split ? !u.first_name : !u.full_name) throw new Error(`user ${userId} has no name in the ${split ? 'new' : 'old'} columns`);
    if (!u.email) throw new Error(`user ${userId} has no email`);
  }

  async renameUser(userId: number): Promise<void> {
    const first = FIRST[userId % FIRST.length]!;
    const last = LAST[(userId * 3) % LAST.length]!;
    if (this.on('users.split-name', userId)) {
      await this.pool.query(`UPDATE users SET first_name = $2, last_name = $3 WHERE id = $1`, [userId, first, last]);
    } else {
      await this.pool.query(`UPDATE users SET full_name = $2 WHERE id = $1`, [userId, `${first} ${last}`]);
    }
  }

  async signUp(userId: number): Promise<void> {
    const email = `new${userId}-${Date.now()}@example.com`;
    const first = FIRST[userId % FIRST.length]!;
    const last = LAST[userId % LAST.length]!;
    const emailColumn = this.emailColumn(userId);
    const { rows } = this.on('users.split-name', userId)
      ? await this.pool.query(`INSERT INTO users (first_name, last_name, ${emailColumn}) VALUES ($1, $2, $3) RETURNING id`, [first, last, email])
      : await this.pool.query(`INSERT INTO users (full_name, ${emailColumn}) VALUES ($1, $2) RETURNING id`, [`${first} ${last}`, email]);
    if (!this.on('sessions.drop-legacy', userId)) {
      await this.pool.query(`INSERT INTO legacy_sessions (user_id, token) VALUES ($1, md5(random()::text))`, [rows[0].id]);
    }
  }

  async placeOrder(userId: number): Promise<void> {
    const products = this.on('catalog.items', userId) ? 'catalog_items' : 'products';
    const user = 1 + (userId % this.userCount);
    const { rows } = await this.pool.query(`SELECT id, price_cents FROM ${products} ORDER BY random() LIMIT 1`);
    const product = rows[0];
    // checkout.loyalty-discount applies a loyalty discount; the old checkout charges the list price.
    const total = this.on('checkout.loyalty-discount', userId) ? Math.max(1, Math.round(product.price_cents * 0.95)) : product.price_cents;
    const order = await this.pool.query(`INSERT INTO orders (user_id, product_id, total) VALUES ($1, $2, $3) RETURNING id`, [user, product.id, total]);
    if (this.on('orders.notes', userId)) {
      await this.pool.query(`INSERT INTO order_notes (order_id, note) VALUES ($1, 'leave at the door')`, [order.rows[0].id]);
    }
  }

  async readOrders(userId: number): Promise<void> {
    const user = 1 + (userId % this.userCount);
    const source = this.on('orders.recent-view', userId) ? 'recent_orders' : 'orders';
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n, coalesce(sum(total), 0)::bigint AS sum FROM ${source} WHERE user_id = $1`, [user]);
    if (rows[0].n > 0 && Number(rows[0].sum) <= 0) throw new Error(`orders of user ${user} add up to ${rows[0].sum}`);
  }
}
