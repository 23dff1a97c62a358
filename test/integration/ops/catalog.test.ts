import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCatalog, readTable } from '../../../src/db/catalog.js';
import type { Database } from '../../../src/db/connect.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('catalog');
  conn = await tdb.connect();
});
afterAll(() => tdb.drop());

it('reads columns, keys, indexes, constraints and triggers from pg_catalog', async () => {
  const { pool } = conn;
  await pool.query(`
    CREATE SCHEMA app;
    CREATE TABLE app.teams (id int PRIMARY KEY);
    CREATE TABLE app.users (
      id bigint GENERATED ALWAYS AS IDENTITY,
      region text NOT NULL DEFAULT 'eu',
      email varchar(200) UNIQUE,
      token uuid DEFAULT gen_random_uuid(),
      created timestamptz DEFAULT now(),
      team int REFERENCES app.teams (id),
      score numeric(8,2) CHECK (score >= 0),
      upper_email text GENERATED ALWAYS AS (upper(email)) STORED,
      PRIMARY KEY (region, id)
    );
    CREATE INDEX users_lower ON app.users (lower(email)) WHERE score > 1;
    CREATE TABLE app.posts (id int PRIMARY KEY, region text, uid bigint, FOREIGN KEY (region, uid) REFERENCES app.users (region, id));
    CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TRIGGER noop BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.noop();
  `);
  const t = (await readTable(pool, 'app', 'users'))!;
  expect(t.primaryKey).toEqual(['region', 'id']);
  const c = Object.fromEntries(t.columns.map((x) => [x.name, x]));
  expect(c.id).toMatchObject({ type: 'bigint', notNull: true, identity: 'always', generated: false });
  expect(c.region).toMatchObject({ type: 'text', notNull: true, default: "'eu'::text", defaultVolatile: false });
  expect(c.email).toMatchObject({ type: 'character varying(200)', notNull: false });
  expect(c.token).toMatchObject({ default: 'gen_random_uuid()', defaultVolatile: true });
  expect(c.created).toMatchObject({ default: 'now()', defaultVolatile: false });
  expect(c.score).toMatchObject({ type: 'numeric(8,2)' });
  expect(c.upper_email).toMatchObject({ generated: true });
  const ix = Object.fromEntries(t.indexes.map((x) => [x.name, x]));
  expect(ix.users_pkey).toMatchObject({ primary: true, columns: ['region', 'id'], constraint: 'users_pkey', simple: true });
  expect(ix.users_email_key).toMatchObject({ unique: true, columns: ['email'], uses: ['email'], constraint: 'users_email_key' });
  expect(ix.users_lower).toMatchObject({ simple: false, columns: [null] });
  expect([...ix.users_lower!.uses].sort()).toEqual(['email', 'score']);
  const k = Object.fromEntries(t.constraints.filter((x) => x.type !== 'not null').map((x) => [x.name, x]));
  expect(k.users_score_check).toMatchObject({ type: 'check', columns: ['score'], validated: true });
  expect(k.users_team_fkey).toMatchObject({ type: 'foreign key', columns: ['team'], references: 'app.teams' });
  expect(t.referencedBy).toMatchObject([{ name: 'posts_region_uid_fkey', columns: ['region', 'id'], references: 'app.posts' }]);
  expect(t.triggers).toEqual(['noop']);

  const cat = await readCatalog(pool, [{ schema: 'app', name: 'missing' }], [{ schema: 'app', name: 'users_lower' }]);
  expect([...cat.tables.keys()]).toEqual(['app.users']);
  expect(cat.indexes.get('app.users_lower')).toBe('app.users');
});
