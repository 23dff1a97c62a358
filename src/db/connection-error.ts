/**
 * Errors that say the connection or the server went away (not that the
 * migration or the input is wrong): SQLSTATE class 08, admin shutdown, crash
 * shutdown, cannot connect now, and the socket errors pg reports. Follows
 * `cause` chains, so a step error wrapping one counts too.
 *
 * @example
 * isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })) // true
 */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('08') || CODES.has(code)) return true;
    const message = (e as Error).message ?? '';
    if (MESSAGES.test(message)) return true;
  }
  return false;
}

const CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
const MESSAGES =
  /Connection terminated|terminating connection|the database system is (shutting down|starting up|in recovery mode)|Client has encountered a connection error|connection timeout|timeout exceeded when trying to connect/i;
