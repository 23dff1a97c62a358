/**
 * Call `tick` every `intervalMs` until stopped, the first time after one
 * interval (so what ends sooner costs nothing), never overlapping (the next
 * interval starts when a tick has finished), on an unref'd timer (a watcher
 * never keeps the process alive). A tick still running when `stop()` is
 * called finishes; `active()` tells it whether to still act or report. The
 * watchers beside a waiting statement (who blocks a backfill batch, an
 * autovacuum in a DDL step's way) run on it.
 *
 * @example
 * const poll = pollEvery(250, async (active) => { const b = await lookAt(pid); if (active()) report(b); });
 * try { await longStatement(); } finally { poll.stop(); }
 */
export function pollEvery(intervalMs: number, tick: (active: () => boolean) => Promise<void>): { stop(): void } {
  let stopped = false;
  const active = () => !stopped;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(async () => {
      await tick(active).catch(() => {});
      if (!stopped) schedule();
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
