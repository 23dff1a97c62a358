import { defineMigration } from 'curtain';

// A code migration: no schema change. The new checkout ships dark behind
// checkout.loyalty-discount; contract retires the flag once the old path is deleted.
export default defineMigration({
  flag: 'checkout.loyalty-discount',
  description: 'New checkout that applies loyalty discounts',
});
