#!/usr/bin/env node
import { runCli } from './run.js';

// `migrate plan | head`: a closed pipe is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv);
// Let pending stdout writes drain before exiting with the code.
process.exitCode = code;
