import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { createFlags } from '../../flags/client.js';
import { withContext } from '../context.js';

/** `migrate serve`: the OFREP endpoint, until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('serve flags over OFREP (OpenFeature Remote Evaluation Protocol) until interrupted')
    .option('--port <n>', 'port to listen on (default: serve.port, 8016)')
    .option('--host <host>', 'interface to bind (default: serve.host, 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }, command: Command) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
      await withContext(command, async ({ config, out, database, untilSignal }) => {
        const flags = await createFlags({ pool: database.pool, schema: config.schema, appName: 'migrate serve' });
        let server;
        try {
          // Loaded here: every other command starts faster without the HTTP framework.
          const { startOfrepServer } = await import('../../flags/ofrep.js');
          server = await startOfrepServer(
            { flags, apiKey: config.serve.apiKey, adminKey: config.serve.adminKey },
            { port: port ?? config.serve.port, host: opts.host ?? config.serve.host },
          );
        } catch (err) {
          await flags.close();
          throw err;
        }
        out.result({ url: server.url, port: server.port, auth: Boolean(config.serve.apiKey), admin: Boolean(config.serve.adminKey) });
        out.info(`serving OFREP on ${server.url}/ofrep/v1/evaluate/flags${config.serve.apiKey ? '' : ' (no apiKey configured: open to anyone who can connect)'}`);
        if (config.serve.adminKey) out.info(`admin endpoints on ${server.url}/admin/v1/flags/{key}`);
        const signal = await untilSignal();
        out.info(`${signal}: closing`);
        await server.close();
        await flags.close();
      });
    });
}
