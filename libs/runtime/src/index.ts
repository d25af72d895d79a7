// @switchyard/runtime: the shared runtime every app is wired from. Keep this surface small and
// deliberate; anything not exported here is internal.

// errors
export * from './errors/domain-errors';
export { checkTextField, MAX_ID_LENGTH, quoted, type TextFieldRules } from './errors/text-field-rules';

// server
export type { CallContext } from './server/call-context';
export { activeCallContext } from './server/call-context';
export * from './server/service-handlers';
export * from './server/server-middleware';
export { toGrpcImplementation } from './server/handler-adapter';
export { serve, type ServeOptions, type Serving } from './server/serve';
export { tracingMiddleware } from './server/tracing-middleware';
export { loggingMiddleware } from './server/logging-middleware';
export { faultInjectionMiddleware, seededRandom, type FaultInjectionOptions } from './server/fault-injection-middleware';
export { startService, type RunningService, type StartServiceOptions } from './server/start-service';
export { runMain } from './server/run-main';
export { createAppContext, type AppContext } from './server/app-context';
export { addReflection, type ReflectionOptions, type ServedReflection } from './server/reflection';
export { descriptorRegistry } from './reflection/descriptor-registry';
export { connectReflection, type DescribedSymbol, type InvokeOptions, type InvokeResult, type ReflectionConnection, type ReflectionVersion } from './reflection/reflection-client';
export { isStatusError, statusError, toStatusError, type StatusError } from './errors/status-mapping';
export { decodeFieldViolations } from './errors/status-details';

// registry (registration, watcher, resolver)
export { createRegistryClient, registryMetadata } from './registry/registry-client';
export { startRegistration, type Registration, type RegistrationOptions } from './registry/registration';
export { RegistryWatcher, type RegistryWatcherOptions, type InstancesListener, type WatchErrorListener, type WatchClient } from './registry/registry-watcher';
export { registerRegistryResolver, type RegistryResolverOptions, type RegistryResolverRegistration } from './registry/registry-resolver';
export { createSharedWatchers, type InstanceWatch, type WatcherSource } from './registry/shared-watchers';
export type { BackoffOptions } from './registry/reconnect-backoff';
export { staticRoutingRules, watchRoutingRulesFile, type RoutingRulesSource, type RoutingRulesFileOptions } from './registry/routing-rules-source';
export { SUBJECT_HEADER, VERSIONED_ROUTING_POLICY } from './registry/versioned-routing-policy';

// client
export { createClientFactory, type ClientFactory, type ClientFactoryOptions } from './client/client-factory';
export { createPeerClients } from './client/peer-clients';
export { callUnary, type UnaryCallOptions } from './client/call-unary';
export { deadlineInterceptor, type DeadlineOptions } from './client/deadline-interceptor';
export { retryInterceptor, backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryInterceptorOptions } from './client/retry-interceptor';
export { MAX_ATTEMPTS_CAP, type HedgingPolicy, type MethodPolicyOverride, type MethodRetryPolicy, type RetryPolicyTable } from './client/retry-policy';
export { parseRetryPolicy, type RetryPolicyConfig } from './client/retry-policy-config';
export { DEFAULT_RETRY_THROTTLING, RetryThrottle, type RetryThrottleOptions } from './client/retry-throttle';
export { DEFAULT_STREAM_RESET_PACING, StreamResetPacing, type StreamResetPacingOptions } from './client/stream-reset-pacing';
export { tracingInterceptor } from './client/tracing-interceptor';
export { loggingInterceptor } from './client/logging-interceptor';
export { idempotentMethodPaths } from './client/method-idempotency';

// events: the outbox relay and consumers over NATS JetStream
export type { ClaimedEvent, Outbox } from './events/outbox';
export { connectEvents, type EventsConnection, type EventsConnectionOptions } from './events/events-connection';
export { DEAD_LETTER_STREAM, deadLetterSubject, ensureStreams, type EventStream } from './events/event-streams';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './events/outbox-relay';
export { DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, startEventConsumer, UnprocessableEventError, type DeliveredEvent, type EventConsumer, type EventConsumerOptions } from './events/event-consumer';
export { EventMetrics, type ConsumeOutcome } from './events/event-metrics';
export { EVENT_TIME_HEADER } from './events/event-attributes';
export { activeTraceHeaders } from './events/message-trace-context';
export { openEvents, type AppEvents } from './events/open-events';

// metrics
export { RpcMetrics, RPC_DURATION_BUCKETS } from './metrics/rpc-metrics';
export { serverMetricsMiddleware } from './metrics/server-metrics-middleware';
export { clientMetricsInterceptor } from './metrics/client-metrics-interceptor';
export { startMetricsServer, type MetricsServer } from './metrics/metrics-server';

// time
export { systemClock, type Clock } from './time/clock';

// config, logging, telemetry
export { ConfigError, dialAddressVariable, hostPortVariable, millisecondsVariable, parseEnv, portVariable, secretVariable } from './config/env-config';
export { grpcTarget } from './config/grpc-target';
export { watchRulesFileOf, type WatchedRulesFile, type WatchedRulesFileOptions } from './config/watched-rules-file';
export { DEFAULT_PORTS, loadServiceConfig, type AppName, type ServiceConfig } from './config/service-config';
export { AUTO_ADVERTISE_ADDRESS, detectAdvertiseHost, resolveAdvertiseAddress, type AddressSources, type DetectedHost } from './config/advertise-address';
export { loadTlsConfig, type TlsFiles } from './config/tls-config';
export { DEFAULT_CANARY_HEADER, parseRoutingRules, routingHeaderNames, type RoutingRule, type RoutingRules, type RoutingRulesSetting } from './config/routing-rules-config';

// security
export { channelCredentials, serverCredentials } from './security/transport-credentials';
export type { PeerIdentity } from './security/peer-identity';
export { DEFAULT_SERVER_LIMITS, loadServerLimits, type ServerLimits } from './config/server-limits-config';
export { createLogger, type Logger, type LoggerOptions } from './logging/create-logger';
export { FINAL_EXPORT_TIMEOUT_MS, startTelemetry, type FinalExport, type Telemetry, type TelemetryOptions } from './telemetry/start-telemetry';
export type { SpanCounts } from './telemetry/span-accounting';
