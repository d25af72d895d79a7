/**
 * What one registry holds at most, so that strangers cannot grow it without bound and a full
 * Watch snapshot always fits a client's default 4 MiB receive limit. Each field names the
 * environment variable that sets it, and refusals name it too.
 */
export interface RegistryLimits {
  /** REGISTRY_MAX_INSTANCES: live instances of all services together. */
  maxInstances: number;
  /** REGISTRY_MAX_INSTANCES_PER_SERVICE: live instances of one service (one Watch snapshot). */
  maxInstancesPerService: number;
  /** REGISTRY_MAX_ADDRESS_LENGTH */
  maxAddressLength: number;
  /** REGISTRY_MAX_VERSION_LENGTH */
  maxVersionLength: number;
  /** REGISTRY_MAX_ZONE_LENGTH */
  maxZoneLength: number;
  /** REGISTRY_MAX_METADATA_ENTRIES */
  maxMetadataEntries: number;
  /** REGISTRY_MAX_METADATA_KEY_LENGTH */
  maxMetadataKeyLength: number;
  /** REGISTRY_MAX_METADATA_VALUE_LENGTH */
  maxMetadataValueLength: number;
  /** REGISTRY_ALLOW_LINK_LOCAL: accept 169.254.0.0/16 and fe80::/10 addresses (cloud metadata endpoints live there). */
  allowLinkLocal: boolean;
}

export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  maxInstances: 10_000,
  maxInstancesPerService: 256,
  maxAddressLength: 255,
  maxVersionLength: 64,
  maxZoneLength: 63,
  maxMetadataEntries: 32,
  maxMetadataKeyLength: 63,
  maxMetadataValueLength: 256,
  allowLinkLocal: false,
});

/** A client's default max receive message size (grpc-js and every other gRPC implementation). */
export const CLIENT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

// Upper bounds of the protobuf bytes around the variable fields: tags and length prefixes, a
// 36-character instance id, a 63-character service name, state, two timestamps and the
// instance's own prefix in the WatchResponse.
const INSTANCE_FIXED_BYTES = 200;
const METADATA_ENTRY_FIXED_BYTES = 12;

/** The largest one instance can encode to under `limits`, in bytes (an upper bound). */
export function largestInstanceBytes(limits: RegistryLimits): number {
  const entry = METADATA_ENTRY_FIXED_BYTES + limits.maxMetadataKeyLength + limits.maxMetadataValueLength;
  return INSTANCE_FIXED_BYTES + limits.maxAddressLength + limits.maxVersionLength + limits.maxZoneLength + limits.maxMetadataEntries * entry;
}

/** The largest Watch snapshot or Resolve response `limits` allow, in bytes (an upper bound). */
export function largestSnapshotBytes(limits: RegistryLimits): number {
  return 16 + limits.maxInstancesPerService * largestInstanceBytes(limits);
}
