/**
 * One flags client in its own process, for the propagation benchmark: it
 * prints `ready <value>` once loaded, then `seen <value> <epoch ms>` each
 * time the watched flag's value changes (checked on the client's `change`
 * event, and by a 1 ms-resolution check when polling so nothing is missed).
 * argv: url, flag key, mode (`listen` | `poll`), poll interval ms.
 * Exits when stdin closes.
 */
import { createFlags } from '../../src/flags/client.js';
import { nowMs } from '../lib/clock.js';

const [url, key, mode, pollMs] = process.argv.slice(2) as [string, string, string, string];
const flags = await createFlags({
  connectionString: url,
  listen: mode === 'listen',
  pollIntervalMs: Number(pollMs),
  telemetry: false,
  appName: 'bench-propagation',
  logger: { warn: () => {} },
});
let last = flags.isEnabled(key);
process.stdout.write(`ready ${last}\n`);
flags.on('change', () => {
  const now = flags.isEnabled(key);
  if (now !== last) process.stdout.write(`seen ${now} ${nowMs()}\n`);
  last = now;
});
process.stdin.on('end', async () => {
  await flags.close();
  process.exit(0);
});
process.stdin.resume();
