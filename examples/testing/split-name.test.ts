/**
 * Testing a migration in your own suite with `curtain/testing`.
 *
 * verifyMigration() takes the migration through expand → switch (50 %, 100 %,
 * off, on again) → contract, and separately expand → abort, on throwaway
 * databases (testcontainers when Docker answers, else the embedded
 * PostgreSQL, else TEST_DATABASE_URL), running your old-code and new-code
 * functions against every state.
 */
import { describe, expect, it } from 'vitest';
import { verifyMigration, type VerifyContext } from 'curtain/testing';

const seed = async ({ query }: VerifyContext) => {
  await query(`CREATE TABLE users (id int PRIMARY KEY, full_name text NOT NULL)`);
  await query(`INSERT INTO users VALUES (1, 'Ada Lovelace'), (2, 'Alan Turing')`);
};

/** Code written for the new columns: signs a user up, and remembers what it wrote. */
const newCode = async ({ query, shared, step }: VerifyContext) => {
  const id = 100 + shared.size;
  await query(`INSERT INTO users (id, first_name, last_name) VALUES ($1, 'Grace', 'Hopper')`, [id]);
  shared.set(`user:${id}`, 'Grace Hopper');
  const { rows } = await query(`SELECT first_name, last_name FROM users WHERE id = 1`);
  if (step !== 'seeded' && rows[0]?.first_name !== 'Ada') throw new Error(`new code reads first_name ${rows[0]?.first_name} for Ada`);
};

/** Code that only knows full_name: must keep seeing what new code wrote, in its own form. */
const oldCode = async ({ query, shared }: VerifyContext) => {
  await query(`INSERT INTO users (id, full_name) VALUES ($1, 'Edsger Dijkstra') ON CONFLICT (id) DO NOTHING`, [50]);
  for (const [key, expected] of shared) {
    const id = Number(key.split(':')[1]);
    const { rows } = await query<{ full_name: string }>(`SELECT full_name FROM users WHERE id = $1`, [id]);
    if (rows[0]?.full_name !== expected) throw new Error(`user ${id} reads "${rows[0]?.full_name}", expected "${expected}"`);
  }
};

describe('users.split-name', () => {
  it('keeps old and new code working at every step, and aborts cleanly', async () => {
    const report = await verifyMigration(new URL('./migrations/20260101000000_split_name.ts', import.meta.url).pathname, { seed, oldCode, newCode });
    expect(report.summary).toBe('');
    expect(report.ok).toBe(true);
  });

  it('catches a wrong down expression and names the step and the function that broke', async () => {
    const report = await verifyMigration(new URL('./broken/20260101000000_split_name.ts', import.meta.url).pathname, { seed, oldCode, newCode });
    expect(report.ok).toBe(false);
    expect(report.failures[0]).toMatchObject({ step: 'switched 50%', fn: 'oldCode' });
    expect(report.failures[0]!.error).toContain('reads "Hopper Grace", expected "Grace Hopper"');
  });
});
