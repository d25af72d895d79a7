// @switchyard/runtime: the shared runtime every app is wired from. Keep this surface small and
// deliberate; anything not exported here is internal.

// errors
export * from './errors/domain-errors';

// server
export type { CallContext } from './server/call-context';
export { activeCallContext } from './server/call-context';
export * from './server/service-handlers';
export * from './server/server-middleware';
export { toGrpcImplementation } from './server/handler-adapter';
export { isStatusError, statusError, toStatusError, type StatusError } from './errors/status-mapping';

// registry (registration, watcher, resolver)

// client

// config, logging, telemetry
