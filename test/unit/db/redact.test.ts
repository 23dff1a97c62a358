import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../../../src/db/redact.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgres://app@db/app?password=s3cret&sslmode=require', 'postgres://app@db/app?password=***&sslmode=require'],
    ['postgresql://app:a%40b@db/app?sslpassword=s3cret', 'postgresql://app:***@db/app?sslpassword=***'],
    ['postgres://app@db/app', 'postgres://app@db/app'],
    ['host=db user=app password=s3cret', 'host=db user=app password=***'],
  ])('%s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('redactText', () => {
  it('redacts every connection string inside a sentence, keeping its punctuation', () => {
    expect(redactText('cannot connect to postgres://u:pw@h/db: refused (see postgres://a@b/c?password=zz).')).toBe(
      'cannot connect to postgres://u:***@h/db: refused (see postgres://a@b/c?password=***).',
    );
  });
});
