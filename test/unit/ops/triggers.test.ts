import { describe, expect, it } from 'vitest';
import { dualWriteTrigger } from '../../../src/ops/triggers.js';
import { col, table } from './fixtures.js';

const t = table('t', [
  col('id', 'int', { notNull: true }),
  col('a', 'int', { default: '0' }),
  col('b', 'bigint'),
  col('u', 'uuid', { default: 'gen_random_uuid()', defaultVolatile: true }),
  col('g', 'int', { generated: true }),
]);

describe('dualWriteTrigger', () => {
  const trg = dualWriteTrigger('m1', t, [{ old: 'a', new: 'b', up: 'a::bigint', down: 'b::int', upDeps: ['g'], downDeps: [] }]);

  it('bakes the authority into the function', () => {
    const old = trg.functionSql('old');
    const nu = trg.functionSql('new');
    expect(old).toMatch(/ELSIF _curtain_o0 THEN NEW\."b" := \(a::bigint\)/);
    expect(nu).toMatch(/ELSIF _curtain_o0 THEN NEW\."a" := \(b::int\)/);
    expect(old).toMatch(/^CREATE OR REPLACE FUNCTION "public"\."_curtain_dw_m1_t"\(\) RETURNS trigger LANGUAGE plpgsql/);
  });

  it('does no catalog lookup and no dynamic SQL', () => {
    const body = trg.functionSql('old');
    expect(body).not.toMatch(/EXECUTE|pg_catalog|information_schema|SELECT/i);
  });

  it('detects INSERT sides by comparing with defaults, skipping generated columns', () => {
    const body = trg.functionSql('old');
    expect(body).toContain(`_curtain_o0 := NEW."a" IS DISTINCT FROM (0);`);
    expect(body).toContain(`_curtain_n0 := NEW."b" IS DISTINCT FROM NULL;`);
    expect(body).not.toContain('NEW."g" IS DISTINCT');
  });

  it('treats a side with only unpredictable defaults as supplied unless the other side is', () => {
    const v = dualWriteTrigger('m1', t, [{ old: 'u', new: 'b', up: 'u', down: 'b', upDeps: [], downDeps: [] }]).functionSql('old');
    expect(v).toContain('_curtain_o0 := NOT _curtain_n0;');
  });

  it('fires only on UPDATE OF the involved columns, and for replica-mode writers too', () => {
    expect(trg.createTriggerSql).toBe(
      `CREATE TRIGGER "_curtain_dw_m1" BEFORE INSERT OR UPDATE OF "a", "b" ON "public"."t" FOR EACH ROW WHEN (current_setting('curtain.backfill', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION "public"."_curtain_dw_m1_t"();\n` +
        `ALTER TABLE "public"."t" ENABLE ALWAYS TRIGGER "_curtain_dw_m1"`,
    );
  });
});
