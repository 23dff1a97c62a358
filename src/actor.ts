import os from 'node:os';

/** Who is acting: CURTAIN_ACTOR if set, else `user@host`. Recorded with every change. */
export function defaultActor(): string {
  if (process.env.CURTAIN_ACTOR) return process.env.CURTAIN_ACTOR;
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `${user}@${os.hostname()}`;
}
