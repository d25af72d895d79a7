// Public surface of the generated wire types. Everything under ./generated is produced by
// `nx run proto:generate` from protos/ and must not be edited by hand.
export * as registryV1 from './generated/switchyard/registry/v1/registry_service';
export * as userV1 from './generated/switchyard/user/v1/user_service';
export * as orderV1 from './generated/switchyard/order/v1/order_service';
export * as orderEventsV1 from './generated/switchyard/order/v1/order_events';
export { ORDER_CREATED_SUBJECT, ORDER_EVENTS_STREAM } from './order-event-stream';
export * as gatewayV1 from './generated/switchyard/gateway/v1/gateway_service';
export { descriptorSetBase64 } from './generated/descriptor-set';
// google.rpc.Status and its error details (vendored googleapis protos, protos/google).
export * as googleRpc from './google-rpc';
