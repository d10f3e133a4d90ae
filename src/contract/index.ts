/**
 * The wire contract (shared/API.md) in one place: every shape a client sees, imported by the server's producers
 * and by the client (src/client), so that a change that breaks one fails to compile in the other. Nothing here
 * depends on Node: the client bundles it for browsers.
 */
export * from './codes.js';
export * from './comet.js';
export * from './envelope.js';
export * from './frames.js';
export * from './groups.js';
export * from './messages.js';
