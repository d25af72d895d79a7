import type { ChannelOptions } from '@grpc/grpc-js';
import { channelScopedOption } from './channel-scoped-option';

/** What an instance registered about itself, handed by the resolver to load-balancing policies. */
export interface InstanceLabels {
  /** The instance's registered version (its SERVICE_VERSION). */
  version: string;
  metadata: Readonly<Record<string, string>>;
}

/** The labels by `host:port`: a resolver attribute, which grpc-js hands the policies as a channel option. */
export const instanceLabelsOption = channelScopedOption<ReadonlyMap<string, InstanceLabels>>('instance_labels', (value) => value instanceof Map);

/** The labels the resolver attached, by `host:port` (subchannelAddressToString). */
export function instanceLabelsOf(channelOptions: ChannelOptions): ReadonlyMap<string, InstanceLabels> {
  return instanceLabelsOption.of(channelOptions) ?? new Map();
}

/**
 * Whether a rule's `selector` names an instance with `labels`: `key=value` names those whose
 * metadata has that entry (e.g. `track=canary`), anything else is a version (versionMatches).
 */
export function selectorMatches(selector: string, labels: InstanceLabels): boolean {
  const equals = selector.indexOf('=');
  if (equals < 0) return versionMatches(selector, labels.version);
  return labels.metadata[selector.slice(0, equals)] === selector.slice(equals + 1);
}

/** The metadata keys a rule's `key=value` selectors name. */
export function selectorMetadataKeys(selectors: Iterable<string>): string[] {
  const keys = new Set<string>();
  for (const selector of selectors) {
    const equals = selector.indexOf('=');
    if (equals > 0) keys.add(selector.slice(0, equals));
  }
  return [...keys].sort();
}

/**
 * Whether a rule's version `selector` names `version`: the same version, or a prefix of it at a
 * dot (`0.2` names `0.2.0` and `0.2.1`); a leading `v` is ignored on both (`v0.2.0`).
 */
export function versionMatches(selector: string, version: string): boolean {
  const wanted = selector.replace(/^v(?=\d)/, '');
  const actual = version.replace(/^v(?=\d)/, '');
  return actual === wanted || actual.startsWith(`${wanted}.`);
}
