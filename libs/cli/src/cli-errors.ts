import { status as Status } from '@grpc/grpc-js';

/** A mistake in the command line: exit code 2 with the command's usage. */
export class UsageError extends Error {}

/** A failed call or connection: exit code 1. */
export class CallError extends Error {}

/** One line for a failed gRPC call: the code by name and the server's message. */
export function describeCallError(error: unknown, context: string, options: { registry?: boolean } = {}): string {
  const failure = error as { code?: number; details?: string; message?: string };
  if (typeof failure.code === 'number' && Status[failure.code] !== undefined) {
    // Only the registry's refusals are about the registry token; an app's are its own.
    const hint = !options.registry
      ? ''
      : failure.code === Status.UNAUTHENTICATED
        ? ' (give the CLI the token with --token, REGISTRY_TOKEN or REGISTRY_TOKEN_FILE)'
        : failure.code === Status.PERMISSION_DENIED
          ? ' (the token given may not read the registry)'
          : '';
    // grpc-js ends a refused connection's details with an empty "Resolution note:".
    const details = (failure.details || failure.message || '').replace(/\s*Resolution note:\s*$/, '');
    return `${context}: ${Status[failure.code]}: ${details}${hint}`;
  }
  return `${context}: ${failure.message ?? String(error)}`;
}
