/**
 * curtain flags through the OpenFeature server SDK.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx jiti examples/openfeature/app.ts
 *
 * In your project, import from 'curtain' instead of the relative path.
 */
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { setFlag } from '../../src/flags/index.js';
import { CurtainProvider } from '../../src/openfeature.js';
import { connect } from '../../src/db/connect.js';
import { ensureStore } from '../../src/store/store.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('set DATABASE_URL to a PostgreSQL you can write to');
  process.exit(2);
}

// Setup for the demo only: the curtain schema and one flag at 30%.
const admin = await connect(url);
await ensureStore(admin.pool, 'curtain');
await setFlag(admin.pool, 'curtain', 'demo.new-checkout', { enabled: true, rollout: 30 }, { reason: 'openfeature example' });

// The application side: register the provider once, then use the vendor-neutral API.
await OpenFeature.setProviderAndWait(new CurtainProvider({ connectionString: url, appName: 'openfeature-example', backupFile: '.curtain/flags-backup.json' }));
const client = OpenFeature.getClient();
client.addHandler(ProviderEvents.ConfigurationChanged, (e) => console.log('flags changed:', e?.flagsChanged));

for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
  const details = await client.getBooleanDetails('demo.new-checkout', false, { targetingKey: user });
  console.log(`${user.padEnd(6)} → ${details.value ? 'new' : 'old'} checkout (${details.reason})`);
}

// Change the flag: every process with the provider hears it through LISTEN/NOTIFY.
await setFlag(admin.pool, 'curtain', 'demo.new-checkout', { rollout: 100 }, { reason: 'everyone' });
await new Promise((r) => setTimeout(r, 200));
console.log('after raising to 100%:', await client.getBooleanValue('demo.new-checkout', false, { targetingKey: 'bob' }));
console.log('a typo falls back to the default:', await client.getBooleanDetails('demo.new-chekout', false));

await OpenFeature.close();
await admin.close();
