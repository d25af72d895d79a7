// @switchyard/testing: harnesses for tests. Never imported by app code.
export * from './test-server';
export { connectReflection, type DescribedSymbol, type InvokeOptions, type InvokeResult, type ReflectionConnection, type ReflectionVersion } from '@switchyard/runtime';
export * from './otlp-receiver';
export * from './grpcurl';
export { eventually } from './eventually';
export { freePort } from './free-port';
export { composeNodeOptions, composeServiceEnvironments } from './compose-environment';
export { describeWithEtcd, findEtcd, startEtcdCluster, type EtcdCluster } from './etcd-cluster';
export * from './http2-attacks';
export { badRequestFields } from './bad-request-fields';
export { AnswerTally, callRaw, describeHostileRequests, hostileRequests, methodsOf, randomMessageBytes, rawClient, sendFrames, truncatedFrames, uncleanAnswer, type FuzzedMethod, type HostileRequestsSuite, type RawAnswer } from './hostile-requests';
export { findNatsServer, startNatsServer, type NatsServer } from './nats-server';
