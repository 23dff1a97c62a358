/**
 * Passwords never reach the terminal, logs or --json: every connection string
 * curtain prints goes through these.
 */

const SECRET_PARAMS = /^(password|sslpassword|sslkey)$/i;

/**
 * Hide the password of a connection string: `user:pass@` and `?password=`
 * (also `sslpassword`), and `password=...` in a key/value string.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db/app?password=x&sslmode=require')
 * // 'postgres://app:***@db/app?password=***&sslmode=require'
 */
export function redactUrl(url: string): string {
  return parsedRedacted(url) ?? redactText(url);
}

function parsedRedacted(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(key)) u.searchParams.set(key, '***');
  // URLSearchParams encodes '*': keep the placeholder readable.
  return u.toString().replace(/%2A%2A%2A/g, '***');
}

/**
 * Redact every connection string (and `password=` pair) inside free text,
 * e.g. an error message that quotes one.
 *
 * @example
 * redactText('cannot connect to postgres://u:pw@h/db') // 'cannot connect to postgres://u:***@h/db'
 */
export function redactText(text: string): string {
  return text
    .replace(/\bpostgres(?:ql)?:\/\/[^\s'"<>]+/gi, (m) => {
      // Trailing punctuation belongs to the sentence, not the URL.
      const [, url, tail] = /^(.*?)([).,;:]*)$/.exec(m)!;
      return `${redactUrlStrict(url!)}${tail}`;
    })
    .replace(/\b(password|sslpassword)=('[^']*'|[^\s&)'",;]+)/gi, '$1=***');
}

function redactUrlStrict(url: string): string {
  return parsedRedacted(url) ?? url.replace(/:[^:@/]*@/, ':***@').replace(/\b(password|sslpassword)=[^&]*/gi, '$1=***');
}
