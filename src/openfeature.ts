/** `curtain/openfeature`: the OpenFeature server provider backed by curtain's flags. */
export { CurtainProvider, type CurtainProviderOptions } from './flags/openfeature.js';
