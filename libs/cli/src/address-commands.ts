import { connectReflection, type ReflectionConnection } from '@switchyard/runtime';
import { CallError, describeCallError, UsageError } from './cli-errors';
import type { CliOptions } from './cli-options';
import { textTable } from './text-table';

type Output = (text: string) => void;

const HEALTH_SERVICE = 'grpc.health.v1.Health';
const REFLECTION_PREFIX = 'grpc.reflection.';

async function withReflection<T>(options: CliOptions, address: string, use: (connection: ReflectionConnection) => Promise<T>): Promise<T> {
  const connection = connectReflection(address, { credentials: options.credentials });
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

/** Bounds a reflection round trip, which has no deadline of its own. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs}ms`), { code: 4, details: `${what}: no answer within ${timeoutMs}ms` })), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** grpc.health.v1 Check for the server as a whole and for each service its reflection lists. */
export async function checkHealth(options: CliOptions, address: string, out: Output): Promise<boolean> {
  const results = await withReflection(options, address, async (connection) => {
    let services: string[];
    try {
      services = await withTimeout(connection.listServices(), options.timeoutMs, 'reflection');
    } catch (error) {
      throw new CallError(describeCallError(error, `health ${address}: listing services by reflection`));
    }
    const checked: { service: string; status: string }[] = [];
    for (const service of ['', ...services.filter((name) => name !== HEALTH_SERVICE && !name.startsWith(REFLECTION_PREFIX))]) {
      try {
        const answer = await connection.invoke(`${HEALTH_SERVICE}/Check`, { service }, { deadlineMs: options.timeoutMs });
        checked.push({ service, status: String((answer.json as { status?: string } | null)?.status ?? 'UNKNOWN') });
      } catch (error) {
        checked.push({ service, status: describeCallError(error, 'Check').replace(/^Check: /, '') });
      }
    }
    return checked;
  });
  const healthy = results.every((result) => result.status === 'SERVING');
  if (options.json) out(JSON.stringify({ address, healthy, services: results }) + '\n');
  else out(textTable(['SERVICE', 'STATUS'], results.map((result) => [result.service || '(server)', result.status])));
  return healthy;
}

/** Calls `method` with `json` as its request, typed by the server's reflection. */
export async function callMethod(options: CliOptions, address: string, method: string, json: string, out: Output): Promise<void> {
  let request: unknown;
  try {
    request = JSON.parse(json);
  } catch (error) {
    throw new UsageError(`call: the request is not JSON: ${(error as Error).message}`);
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new UsageError('call: the request must be a JSON object, e.g. \'{"userId":"u1"}\'');
  }
  if (!/^\/?[\w.]+[./]\w+$/.test(method)) {
    throw new UsageError(`call: ${JSON.stringify(method)} is not a method name (package.Service/Method)`);
  }
  const result = await withReflection(options, address, async (connection) => {
    try {
      return await withTimeout(connection.invoke(method, request as object, { deadlineMs: options.timeoutMs }), options.timeoutMs + 1_000, method);
    } catch (error) {
      throw new CallError(describeCallError(error, `call ${method}`));
    }
  });
  const messages = result.messages;
  if (options.json) out(JSON.stringify(messages.length === 1 ? messages[0] : messages) + '\n');
  else for (const message of messages) out(JSON.stringify(message, null, 2) + '\n');
}
