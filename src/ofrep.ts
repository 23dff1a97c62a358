/** `curtain/ofrep`: the OpenFeature Remote Evaluation Protocol server, and the whole server `migrate serve` runs (console, JSON API, OFREP). */
export { buildOfrepApp, startOfrepServer, listenOn, type OfrepOptions, type OfrepServer } from './flags/ofrep.js';
export { buildServeApp, BODY_LIMIT, type ServeAppOptions } from './serve/app.js';
export { type Principal, type ServeKeyConfig } from './serve/auth.js';
