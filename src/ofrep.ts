/** `curtain/ofrep`: the OpenFeature Remote Evaluation Protocol server (what `migrate serve` runs). */
export { buildOfrepApp, startOfrepServer, type OfrepOptions, type OfrepServer } from './flags/ofrep.js';
