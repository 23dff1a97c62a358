import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { findDependents, formatDependent, type Dependent } from '../../../src/db/dependents.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('deps');
  conn = await tdb.connect();
  await conn.pool.query(`
    CREATE SCHEMA app;
    CREATE TABLE app.t (id int PRIMARY KEY, a int CHECK (a > 0), b text, g int GENERATED ALWAYS AS (a * 2) STORED);
    ALTER TABLE app.t ADD CONSTRAINT t_a_key UNIQUE (a);
    CREATE TABLE app.c (id int PRIMARY KEY, t_a int CONSTRAINT c_fk REFERENCES app.t (a), note text);
    CREATE VIEW app.v AS SELECT id, a AS alpha FROM app.t;
    CREATE VIEW app.v2 AS SELECT alpha FROM app.v;
    CREATE MATERIALIZED VIEW app.mv AS SELECT * FROM app.v2;
    CREATE INDEX mv_alpha ON app.mv (alpha);
    CREATE VIEW app.only_b AS SELECT id, b FROM app.t;
    CREATE FUNCTION app.max_a() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT max(a) FROM app.t; END;
    CREATE INDEX t_lower ON app.t (lower(b)) WHERE a > 1;
    ALTER TABLE app.t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY positive ON app.t USING (a > 0);
    CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE TRIGGER on_a BEFORE UPDATE OF a ON app.t FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE FUNCTION app.set_a() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.a := 1; RETURN NEW; END$$;
    CREATE TRIGGER set_a BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.set_a();
    CREATE FUNCTION app.sum_a() RETURNS bigint LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT sum(a) FROM app.t); END$$;
    CREATE FUNCTION app.other() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT count(*) FROM app.c); END$$;
    CREATE FUNCTION app.old_sql() RETURNS int LANGUAGE sql AS $$ SELECT a FROM app.t LIMIT 1 $$;
    CREATE PUBLICATION pub_t FOR TABLE app.t (id, a);
    CREATE RULE log_c AS ON INSERT TO app.c DO ALSO SELECT a FROM app.t;
  `);
});
afterAll(async () => {
  await conn.pool.query(`DROP PUBLICATION IF EXISTS pub_t`);
  await tdb.drop();
});

const brief = (ds: Dependent[]) => ds.map((d) => `${d.certainty}: ${formatDependent(d)}`).sort();

describe('findDependents', () => {
  it('lists everything that reads a column, views on views included, and plpgsql bodies as "may break"', async () => {
    const deps = await findDependents(conn.pool, [{ kind: 'column', schema: 'app', table: 't', column: 'a' }]);
    expect(brief(deps)).toEqual(
      [
        'depends: constraint c_fk on app.c',
        'depends: constraint t_a_check on app.t',
        'depends: constraint t_a_key on app.t',
        'depends: function app.max_a',
        'depends: generated column g on app.t',
        'depends: index app.t_lower',
        'depends: materialized view app.mv (through view app.v → view app.v2)',
        'depends: policy positive on app.t',
        'depends: publication pub_t on app.t',
        'depends: rule log_c on app.c',
        'depends: trigger on_a on app.t',
        'depends: view app.v',
        'depends: view app.v2 (through view app.v)',
        'may break: function app.old_sql',
        'may break: function app.set_a',
        'may break: function app.sum_a',
      ].sort(),
    );
    expect(deps.every((d) => d.on === 'column app.t.a')).toBe(true);
    // The matview's own index goes with it; it is not reported.
    expect(deps.find((d) => d.name === 'mv_alpha')).toBeUndefined();
    expect(deps.find((d) => d.name === 'c_fk')?.detail).toContain('REFERENCES');
    expect(deps.find((d) => d.name === 'max_a')?.detail).toBe('app.max_a()');
  });

  it('for a whole table, reports what is outside it and not its own parts', async () => {
    const deps = await findDependents(conn.pool, [{ kind: 'table', schema: 'app', name: 't' }]);
    expect(brief(deps)).toEqual(
      [
        'depends: constraint c_fk on app.c',
        'depends: function app.max_a',
        'depends: materialized view app.mv (through view app.v → view app.v2)',
        'depends: publication pub_t on app.t',
        'depends: rule log_c on app.c',
        'depends: view app.only_b',
        'depends: view app.v',
        'depends: view app.v2 (through view app.v)',
      ].sort(),
    );
  });

  it('for a view, reports the views and matviews built on it', async () => {
    const deps = await findDependents(conn.pool, [{ kind: 'table', schema: 'app', name: 'v' }]);
    expect(brief(deps)).toEqual(['depends: materialized view app.mv (through view app.v2)', 'depends: view app.v2']);
  });

  it('for a unique constraint and its index, reports the foreign keys that need it', async () => {
    const byConstraint = await findDependents(conn.pool, [{ kind: 'constraint', schema: 'app', table: 't', name: 't_a_key' }]);
    expect(brief(byConstraint)).toEqual(['depends: constraint c_fk on app.c']);
    const byIndex = await findDependents(conn.pool, [{ kind: 'index', schema: 'app', name: 't_a_key' }]);
    expect(byIndex.map((d) => [d.name, d.on])).toEqual([['c_fk', 'index app.t_a_key']]);
  });

  it('reports nothing for a column nothing reads, and nothing for a target that does not exist', async () => {
    expect(await findDependents(conn.pool, [{ kind: 'column', schema: 'app', table: 'c', column: 'note' }])).toEqual([]);
    expect(await findDependents(conn.pool, [{ kind: 'column', schema: 'app', table: 't', column: 'nope' }])).toEqual([]);
    expect(await findDependents(conn.pool, [{ kind: 'table', schema: 'nope', name: 't' }])).toEqual([]);
  });

  it('skips the schemas it is told to skip in the text scan', async () => {
    const deps = await findDependents(conn.pool, [{ kind: 'column', schema: 'app', table: 't', column: 'a' }], { skipSchemas: ['app'] });
    expect(deps.filter((d) => d.certainty === 'may break')).toEqual([]);
  });

  it('the column of a view that DROP would refuse is exactly what is reported (checked against PostgreSQL)', async () => {
    const err = await conn.pool.query(`ALTER TABLE app.t DROP COLUMN b`).catch((e: Error & { detail?: string }) => e);
    expect(err).toBeInstanceOf(Error);
    const deps = await findDependents(conn.pool, [{ kind: 'column', schema: 'app', table: 't', column: 'b' }]);
    const detail = (err as { detail?: string }).detail ?? '';
    for (const d of deps.filter((x) => x.kind === 'view')) expect(detail).toContain(`view app.${d.name}`);
    expect(brief(deps)).toContain('depends: view app.only_b');
  });
});
