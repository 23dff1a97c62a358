import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { createFlags } from '../../flags/client.js';
import { isLoopbackHost } from '../../serve/auth.js';
import { withContext } from '../context.js';

/** How often unknown keys asked of the server are summarised on stderr. */
const UNKNOWN_SUMMARY_MS = 60_000;

/** `migrate serve`: the console, its JSON API and OFREP, until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the console (migrations, flags, snapshots), its JSON API and OFREP until interrupted')
    .option('--port <n>', 'port to listen on (default: serve.port, 8016)')
    .option('--host <host>', 'interface to bind (default: serve.host, 127.0.0.1)')
    .option('--insecure-admin', 'with no keys configured, let clients on this machine act too (switch, pause, set flags)')
    .action(async (opts: { port?: string; host?: string; insecureAdmin?: boolean }, command: Command) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
      await withContext(command, async ({ config, out, database, untilSignal }) => {
        const host = opts.host ?? config.serve.host;
        const keys = config.serve.keys;
        if (keys.length === 0 && !isLoopbackHost(host)) {
          throw new UsageError(
            `refusing to serve on ${host} without keys: anyone who can reach it would see every migration and flag`,
            'configure serve.keys ([{ name, key, role }], see the README) or bind 127.0.0.1',
          );
        }
        if (opts.insecureAdmin && keys.length > 0) throw new UsageError('--insecure-admin is for servers without keys; use an admin key from serve.keys');
        const flags = await createFlags({ pool: database.pool, schema: config.schema, appName: 'migrate serve', warnUnknown: false });
        let server;
        try {
          // Loaded here: every other command starts faster without the HTTP framework.
          const { buildServeApp } = await import('../../serve/app.js');
          const { listenOn } = await import('../../flags/ofrep.js');
          const app = await buildServeApp({
            flags,
            keys,
            insecureAdmin: opts.insecureAdmin,
            rateLimit: config.serve.rateLimit,
            console: { config, pool: database.pool },
          });
          server = await listenOn(app, { port: port ?? config.serve.port, host });
        } catch (err) {
          await flags.close();
          throw err;
        }
        // Names and roles only: a key's secret is never printed. With keys, nothing is answered without one,
        // reads included: an admin key alone does not leave reading open, and the line must not suggest it.
        const access = keys.length
          ? `keys: ${keys.map((k) => `${k.name} (${k.role})`).join(', ')}; every request needs a key, reads included`
          : opts.insecureAdmin
            ? 'no keys: clients on this machine only, and they can act (--insecure-admin)'
            : 'no keys: clients on this machine only, read-only';
        out.result({ url: server.url, port: server.port, keys: keys.map((k) => ({ name: k.name, role: k.role })), insecureAdmin: Boolean(opts.insecureAdmin) });
        out.info(`console on ${server.url}/ (${access})`);
        out.info(`JSON API on ${server.url}/api, OFREP on ${server.url}/ofrep/v1/evaluate/flags`);
        const summary = setInterval(() => {
          const u = flags.unknownKeys({ reset: true, top: 5 });
          if (u.evaluations === 0) return;
          out.info(`unknown flags asked for in the last minute: ${u.evaluations} evaluation(s) of ${u.keys} key(s)${u.overflow ? ' (and more)' : ''}; most: ${u.top.map((t) => `${t.key} ×${t.count}`).join(', ')}`);
        }, UNKNOWN_SUMMARY_MS);
        summary.unref();
        const signal = await untilSignal();
        clearInterval(summary);
        out.info(`${signal}: closing`);
        await server.close();
        await flags.close();
      });
    });
}
