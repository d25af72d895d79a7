import { registryV1 } from '@switchyard/proto';
import { FieldViolations } from '@switchyard/runtime';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './registry-limits';
import type { InstanceState, RegisterInput } from './registry-store';

// Field names in violations are the proto's (snake_case), as a client reads them in BadRequest.

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const METADATA_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '[::]', '[::0]']);
const MAX_NAME_LENGTH = 63;
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

/** 169.254.0.0/16 and fe80::/10: no app serves there, but cloud metadata endpoints do. */
function isLinkLocal(host: string): boolean {
  if (/^169\.254\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return /^\[fe[89ab][0-9a-f]:/i.test(host) || /^\[::ffff:169\.254\./i.test(host);
}

function addressProblem(address: string, limits: RegistryLimits): string | undefined {
  if (address === '') return 'is required';
  if (address.length > limits.maxAddressLength) return `must be at most ${limits.maxAddressLength} characters (REGISTRY_MAX_ADDRESS_LENGTH)`;
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return 'must be host:port, e.g. 10.0.0.5:50052';
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return 'must end in a port from 1 to 65535';
  if (!HOST_NAME.test(host) && !IPV6_HOST.test(host)) return `has an invalid host "${host}" (a name, an IPv4 address or a bracketed IPv6 address)`;
  if (UNSPECIFIED_HOSTS.has(host)) return `must be an address other processes can dial, not ${host}`;
  if (!limits.allowLinkLocal && isLinkLocal(host)) {
    return `must not be link-local (${host}): no app serves there; set REGISTRY_ALLOW_LINK_LOCAL=true if yours does`;
  }
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
export function parseRegisterRequest(request: registryV1.RegisterRequest, limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS): RegisterInput {
  const violations = new FieldViolations();
  checkServiceName(violations, request.serviceName);
  const addressError = addressProblem(request.address, limits);
  if (addressError) violations.add('address', addressError);
  if (request.version.length > limits.maxVersionLength) {
    violations.add('version', `must be at most ${limits.maxVersionLength} characters (REGISTRY_MAX_VERSION_LENGTH)`);
  }
  const entries = Object.entries(request.metadata);
  if (entries.length > limits.maxMetadataEntries) {
    violations.add('metadata', `must have at most ${limits.maxMetadataEntries} entries (REGISTRY_MAX_METADATA_ENTRIES)`);
  } else {
    for (const [key, value] of entries) {
      const field = `metadata[${JSON.stringify(key.slice(0, limits.maxMetadataKeyLength + 1))}]`;
      if (key.length > limits.maxMetadataKeyLength || !METADATA_KEY.test(key)) {
        violations.add(field, `key must be 1-${limits.maxMetadataKeyLength} letters, digits, ".", "_", "-" or "/" (REGISTRY_MAX_METADATA_KEY_LENGTH)`);
      } else if (value.length > limits.maxMetadataValueLength) {
        violations.add(field, `value must be at most ${limits.maxMetadataValueLength} characters (REGISTRY_MAX_METADATA_VALUE_LENGTH)`);
      }
    }
  }
  if (request.zone.length > limits.maxZoneLength) {
    violations.add('zone', `must be at most ${limits.maxZoneLength} characters (REGISTRY_MAX_ZONE_LENGTH)`);
  } else if (request.zone !== '' && !SERVICE_NAME.test(request.zone)) {
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
