import type { ServiceError } from '@grpc/grpc-js';

/** A generated grpc-js client's unary method (bound), as a promise: `unary(client.getUser.bind(client), request)`. */
export function unary<Req, Res>(call: (request: Req, callback: (error: ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => call(request, (error, response) => (error ? reject(error) : resolve(response))));
}
