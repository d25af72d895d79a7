import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * A value handed to the resolver and balancers grpc-js builds for one channel. grpc-js constructs
 * them itself, from the target and the service config, and channel options are the one thing it
 * hands them; the `grpc.internal.no_subchannel.` prefix keeps such an option out of subchannel
 * arguments, so channels that carry different values still share their connections.
 */
export interface ChannelScopedOption<T> {
  /** The channel options that carry `value`. */
  options(value: T): ChannelOptions;
  /** The value a channel's options carry, if any. */
  of(channelOptions: ChannelOptions): T | undefined;
}

export function channelScopedOption<T>(name: string, carries: (value: unknown) => boolean): ChannelScopedOption<T> {
  const key = `grpc.internal.no_subchannel.switchyard.${name}`;
  return {
    options: (value) => ({ [key]: value }),
    of: (channelOptions) => (carries(channelOptions[key]) ? (channelOptions[key] as T) : undefined),
  };
}
