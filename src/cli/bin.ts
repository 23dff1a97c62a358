#!/usr/bin/env node
import { reportError, currentCommand, runCli } from './run.js';

// `migrate plan | head`: a closed pipe is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// Last line of defence: an error nobody owns (e.g. a connection's 'error' event) ends
// the process with one line and a hint, not a stack.
process.on('uncaughtException', (err) => {
  process.exit(reportError(err, { verbose: process.argv.includes('--verbose'), command: currentCommand() }));
});

const code = await runCli(process.argv);
// Let pending stdout writes drain before exiting with the code.
process.exitCode = code;
