import { sleep } from '../../db/transaction.js';
import { liveClients } from '../../flags/usage.js';
import type { LifecycleContext } from '../context.js';

/**
 * Wait until every live flags client has reported a flags version at least
 * `version` (it has loaded the change), so that dropping what the flag
 * guarded fails no request. Clients that stop reporting stop counting as live;
 * after `abort.drainTimeout` the wait gives up and says which clients lag.
 */
export async function drainFlag(ctx: LifecycleContext, flag: string, version: number): Promise<void> {
  const deadline = Date.now() + ctx.config.abort.drainTimeoutMs;
  let announced = false;
  for (;;) {
    const lagging = (await liveClients(ctx.pool, ctx.config.schema)).filter((c) => (c.flagsVersion ?? -1) < version);
    if (lagging.length === 0) return;
    if (Date.now() >= deadline || ctx.signal?.aborted) {
      ctx.reporter?.phase?.(
        flag,
        `${lagging.length} flags client(s) did not confirm flag ${flag} off within abort.drainTimeout: ${lagging.map((c) => `${c.appName} (pid ${c.pid} on ${c.host})`).join(', ')}`,
      );
      return;
    }
    if (!announced) ctx.reporter?.phase?.(flag, `waiting for ${lagging.length} live flags client(s) to see flag ${flag} off`);
    announced = true;
    await sleep(250, ctx.signal);
  }
}
