#!/usr/bin/env node
import { runCli } from './run.js';

const code = await runCli(process.argv);
// Let pending stdout writes drain before exiting with the code.
process.exitCode = code;
