import { status as Status } from '@grpc/grpc-js';
import { SpanStatusCode, type Attributes, type SpanStatus } from '@opentelemetry/api';

// Attribute names from the OpenTelemetry RPC semantic conventions, so Jaeger shows method and outcome.
export const RPC_SYSTEM = 'rpc.system';
export const RPC_SERVICE = 'rpc.service';
export const RPC_METHOD = 'rpc.method';
export const RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code';

/** Splits `/pkg.Service/Method` into its service and method. */
export function parseMethodPath(path: string): { service: string; method: string } {
  const [, service = '', method = ''] = path.split('/');
  return { service, method };
}

/** Span name per the conventions: `pkg.Service/Method`. */
export function rpcSpanName(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/** A method's span name and attributes, the same for every call. */
export interface RpcMethodTelemetry {
  readonly spanName: string;
  readonly attributes: Readonly<Attributes>;
}

// A process serves and calls a handful of methods; the bound only guards against a caller that
// makes up paths.
const MAX_CACHED_PATHS = 1000;
const telemetryByPath = new Map<string, RpcMethodTelemetry>();

/** rpcSpanName and rpcAttributes of `path`, worked out once per method rather than on every call. */
export function rpcMethodTelemetry(path: string): RpcMethodTelemetry {
  let telemetry = telemetryByPath.get(path);
  if (!telemetry) {
    const { service, method } = parseMethodPath(path);
    telemetry = Object.freeze({ spanName: rpcSpanName(path), attributes: Object.freeze({ [RPC_SYSTEM]: 'grpc', [RPC_SERVICE]: service, [RPC_METHOD]: method }) });
    if (telemetryByPath.size < MAX_CACHED_PATHS) telemetryByPath.set(path, telemetry);
  }
  return telemetry;
}

// Server spans are errors only for codes that mean the server failed, not the caller's mistake.
const SERVER_ERROR_CODES = new Set([Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.UNIMPLEMENTED, Status.INTERNAL, Status.UNAVAILABLE, Status.DATA_LOSS]);

const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

export function rpcSpanStatus(kind: 'client' | 'server', code: number, message?: string): SpanStatus {
  const isError = kind === 'client' ? code !== Status.OK : SERVER_ERROR_CODES.has(code);
  return isError ? { code: SpanStatusCode.ERROR, message: message ?? Status[code] } : UNSET;
}
