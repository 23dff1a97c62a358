// The configuration of this repository's demo project (npm start): its
// application code lives in examples/demo, so that is where contract and
// `migrate flags retire` look for references to a flag.
import { defineConfig } from 'curtain';

export default defineConfig({
  migrationsDir: 'migrations',
  flags: { sourceGlobs: ['examples/demo/**/*.ts'] },
});
