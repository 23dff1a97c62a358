/**
 * Typed flag keys, opt-in. `migrate codegen` writes a declaration file that
 * augments this interface with every known key:
 *
 *     declare module 'curtain' { interface FlagKeys { 'checkout.v2': true } }
 *
 * Once augmented, `isEnabled('checkout.v3')` is a compile error; until then
 * any string is accepted.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type
export interface FlagKeys {}

/** The keys `isEnabled` accepts: the generated union, or any string. */
export type FlagKey = [keyof FlagKeys] extends [never] ? string : Extract<keyof FlagKeys, string>;
