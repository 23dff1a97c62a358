import { UsageError } from '../errors.js';

const KEY = /^[a-z0-9][a-z0-9._-]*$/;
export const MAX_KEY_LENGTH = 128;

/** Why `key` is not a valid flag key, or undefined when it is. */
export function flagKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `a flag key must be a string, got ${typeof key}`;
  if (key.length === 0) return 'a flag key cannot be empty';
  if (key.length > MAX_KEY_LENGTH) return `flag key is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`;
  if (!KEY.test(key)) {
    return `invalid flag key ${JSON.stringify(key)}: use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit`;
  }
  return undefined;
}

/**
 * Throw a {@link UsageError} unless `key` is a valid flag key
 * (`[a-z0-9][a-z0-9._-]*`, at most 128 characters).
 *
 * @example
 * assertFlagKey('users.split-name'); // ok
 * assertFlagKey('Users Split');      // throws
 */
export function assertFlagKey(key: unknown, what = 'flag key'): asserts key is string {
  const problem = flagKeyProblem(key);
  if (problem) throw new UsageError(what === 'flag key' ? problem : problem.replace('flag key', what), 'e.g. "checkout.new-tax-engine"');
}

/** True when `key` is a valid flag key. */
export function isValidFlagKey(key: unknown): key is string {
  return flagKeyProblem(key) === undefined;
}
