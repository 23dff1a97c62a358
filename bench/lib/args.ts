/** Command-line options of `npm run bench`. */

export interface BenchOptions {
  /** One JSON document on stdout instead of the table. */
  json: boolean;
  /** Small sizes: a smoke run. */
  quick: boolean;
  /** Run only these scenarios (undefined: all). */
  only: string[] | undefined;
  /** `BENCH_SCALE`: multiplies every table size (default 1). */
  scale: number;
}

export const USAGE = `usage: npm run bench -- [--quick] [--json] [--only name,...]

  --quick        small sizes (a smoke run, about a minute or two)
  --json         print one JSON document on stdout instead of the table
  --only a,b     run only the named scenarios
  BENCH_SCALE=x  multiply every table size by x
  BENCH_DATABASE_URL / DATABASE_URL  use this server instead of the embedded PostgreSQL`;

/**
 * Parse argv (without node and the script). Throws on an unknown option.
 *
 * @example
 * parseArgs(['--quick', '--only', 'backfill,trigger'], process.env)
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): BenchOptions & { help: boolean } {
  const o: BenchOptions & { help: boolean } = { json: false, quick: false, only: undefined, scale: 1, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('--only needs a comma-separated list of scenario names');
      o.only = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (env.BENCH_SCALE !== undefined) {
    const s = Number(env.BENCH_SCALE);
    if (!Number.isFinite(s) || s <= 0) throw new Error(`BENCH_SCALE must be a positive number, not ${env.BENCH_SCALE}`);
    o.scale = s;
  }
  return o;
}

/** A table size: `full` or `quick` rows, times BENCH_SCALE. */
export function rows(options: BenchOptions, full: number, quick: number): number {
  return Math.max(100, Math.round((options.quick ? quick : full) * options.scale));
}
