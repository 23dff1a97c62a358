/**
 * `curtain/testing`: helpers for users' own test suites.
 */
export { startTestServer, startTestDatabase, createDatabaseOn } from './server.js';
export type { TestServer, TestDatabaseHandle } from './server.js';
export { verifyMigration } from './verify.js';
export type { VerifyOptions, VerifyReport, VerifyCheck, VerifyContext, VerifyStep, VerifyFunction } from './verify.js';
export { schemaFingerprint } from './catalog.js';
