// Understudy for JavaScript tests: start the mock, mint tokens, drive its admin API.
export { startUnderstudy, StartError } from './server.js';
export type { StartOptions, Understudy } from './server.js';
export { AdminClient, AdminError } from './admin.js';
export type { AdminClientOptions } from './admin.js';
export type * from './types.js';
