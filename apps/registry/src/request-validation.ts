import { registryV1 } from '@switchyard/proto';
import { FieldViolations } from '@switchyard/runtime';
import type { InstanceState, RegisterInput } from './registry-store';

// Field names in violations are the proto's (snake_case), as a client reads them in BadRequest.

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const METADATA_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '[::]', '[::0]']);
const MAX_NAME_LENGTH = 63;
const MAX_VERSION_LENGTH = 64;
const MAX_METADATA_ENTRIES = 32;
const MAX_METADATA_VALUE_LENGTH = 256;
// Register hands out 43 characters; anything much longer is not a secret of ours.
const MAX_LEASE_SECRET_LENGTH = 128;

function checkLeaseSecret(violations: FieldViolations, secret: string): void {
  if (secret.length > MAX_LEASE_SECRET_LENGTH) violations.add('lease_secret', `must be at most ${MAX_LEASE_SECRET_LENGTH} characters`);
}

function checkServiceName(violations: FieldViolations, value: string, field = 'service_name'): void {
  if (value === '') violations.add(field, 'is required');
  else if (value.length > MAX_NAME_LENGTH) violations.add(field, `must be at most ${MAX_NAME_LENGTH} characters`);
  else if (!SERVICE_NAME.test(value)) violations.add(field, 'must be lowercase letters, digits and dashes (e.g. "user"), not starting or ending with a dash');
}

function addressProblem(address: string): string | undefined {
  if (address === '') return 'is required';
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return 'must be host:port, e.g. 10.0.0.5:50052';
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return 'must end in a port from 1 to 65535';
  if (!HOST_NAME.test(host) && !IPV6_HOST.test(host)) return `has an invalid host "${host}" (a name, an IPv4 address or a bracketed IPv6 address)`;
  if (UNSPECIFIED_HOSTS.has(host)) return `must be an address other processes can dial, not ${host}`;
  return undefined;
}

function stateOf(violations: FieldViolations, state: registryV1.InstanceState): InstanceState | undefined {
  switch (state) {
    case registryV1.InstanceState.INSTANCE_STATE_UNSPECIFIED:
      return undefined;
    case registryV1.InstanceState.INSTANCE_STATE_SERVING:
      return 'SERVING';
    case registryV1.InstanceState.INSTANCE_STATE_DRAINING:
      return 'DRAINING';
    default:
      violations.add('state', `unknown state ${state}; expected INSTANCE_STATE_SERVING or INSTANCE_STATE_DRAINING`);
      return undefined;
  }
}

/** Checks a RegisterRequest (every bad field at once) and turns it into the store's input. */
export function parseRegisterRequest(request: registryV1.RegisterRequest): RegisterInput {
  const violations = new FieldViolations();
  checkServiceName(violations, request.serviceName);
  const addressError = addressProblem(request.address);
  if (addressError) violations.add('address', addressError);
  if (request.version.length > MAX_VERSION_LENGTH) violations.add('version', `must be at most ${MAX_VERSION_LENGTH} characters`);
  const entries = Object.entries(request.metadata);
  if (entries.length > MAX_METADATA_ENTRIES) violations.add('metadata', `must have at most ${MAX_METADATA_ENTRIES} entries`);
  for (const [key, value] of entries) {
    if (key.length > MAX_NAME_LENGTH || !METADATA_KEY.test(key)) {
      violations.add(`metadata[${JSON.stringify(key)}]`, `key must be 1-${MAX_NAME_LENGTH} letters, digits, ".", "_", "-" or "/"`);
    } else if (value.length > MAX_METADATA_VALUE_LENGTH) {
      violations.add(`metadata[${JSON.stringify(key)}]`, `value must be at most ${MAX_METADATA_VALUE_LENGTH} characters`);
    }
  }
  if (request.zone !== '' && (request.zone.length > MAX_NAME_LENGTH || !SERVICE_NAME.test(request.zone))) {
    violations.add('zone', 'must be lowercase letters, digits and dashes (e.g. "eu-west-1a")');
  }
  const state = stateOf(violations, request.state);
  checkLeaseSecret(violations, request.leaseSecret);
  violations.throwIfAny();
  return {
    leaseSecret: request.leaseSecret === '' ? undefined : request.leaseSecret,
    serviceName: request.serviceName,
    address: request.address,
    version: request.version,
    metadata: request.metadata,
    zone: request.zone,
    state,
  };
}

/**
 * Checks a HeartbeatRequest; returns the state to set, if any. A missing lease secret is not a
 * malformed request: the store answers it (NOT_FOUND for an unknown id, else PERMISSION_DENIED).
 */
export function parseHeartbeatRequest(request: registryV1.HeartbeatRequest): { instanceId: string; leaseSecret: string; state: InstanceState | undefined } {
  const violations = new FieldViolations();
  if (request.instanceId === '') violations.add('instance_id', 'is required');
  checkLeaseSecret(violations, request.leaseSecret);
  const state = stateOf(violations, request.state);
  violations.throwIfAny();
  return { instanceId: request.instanceId, leaseSecret: request.leaseSecret, state };
}

export function parseDeregisterRequest(request: registryV1.DeregisterRequest): { instanceId: string; leaseSecret: string } {
  const violations = new FieldViolations();
  if (request.instanceId === '') violations.add('instance_id', 'is required');
  checkLeaseSecret(violations, request.leaseSecret);
  violations.throwIfAny();
  return { instanceId: request.instanceId, leaseSecret: request.leaseSecret };
}

/** For Resolve and Watch: a service name in the same form Register accepts. */
export function requireServiceName(serviceName: string): void {
  const violations = new FieldViolations();
  checkServiceName(violations, serviceName);
  violations.throwIfAny();
}
