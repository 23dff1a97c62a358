import type { Phase, PhaseSeverity } from '../types.js';

type Table = Readonly<Record<Phase, PhaseSeverity>>;

/** Locks or rewrites that hurt in every phase. */
export const ALWAYS_ERROR: Table = { expand: 'error', contract: 'error', abort: 'error', any: 'error' };
export const ALWAYS_WARNING: Table = { expand: 'warning', contract: 'warning', abort: 'warning', any: 'warning' };
/**
 * Breaking or destructive changes: old code still runs during expand, so they
 * belong in contract (or abort, which undoes an expand). With no phase known,
 * a warning.
 */
export const BREAKING: Table = { expand: 'error', contract: 'off', abort: 'off', any: 'warning' };
