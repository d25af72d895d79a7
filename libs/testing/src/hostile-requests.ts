import http2 from 'node:http2';
import { create, createFileRegistry, fromBinary, ScalarType, toBinary, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { descriptorSetBase64 } from '@switchyard/proto';
import fc from 'fast-check';
import { badRequestFields } from './bad-request-fields';

// Property-test support: hostile requests for every method of a generated service definition,
// sent as raw bytes over a real socket, and the rules their answers must keep.

/** One method of a service, with the descriptor of its request message. */
export interface FuzzedMethod {
  name: string;
  /** `/pkg.Service/Method` */
  path: string;
  input: DescMessage;
}

let registry: Registry | undefined;

/** Every method of a ts-proto grpc-js definition (e.g. `userV1.UserServiceService`), so a new method is covered without a test change. */
export function methodsOf(definition: Record<string, { path: string }>): FuzzedMethod[] {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64')));
  return Object.entries(definition).map(([name, { path }]) => {
    const [, serviceName = '', methodName] = path.split('/');
    const input = registry!.getService(serviceName)?.methods.find((method) => method.name === methodName)?.input;
    if (!input) throw new Error(`${path} is not in the descriptor set`);
    return { name, path, input };
  });
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// Values that broke or could break something somewhere: NUL (PostgreSQL's text), terminal
// escapes, bidi overrides, format strings, SQL, surrogate pairs past a UTF-16 length limit.
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u001b[2J\u001b[H',
  'line\nforged: entry',
  '\r\n',
  '\u007f',
  '\u0085',
  '\u202egnp.exe',
  '\ufeff',
  '\ufffd',
  '%s%n%x',
  "' or '1'='1' --",
  '"; drop table users; --',
  '😀'.repeat(101),
  'x'.repeat(129),
  'é'.repeat(255),
];

/** Strings a hostile client sends: any code point, nasty constants, page-token look-alikes, huge ones; `known` are values that exist (ids), so requests also get past lookups. */
function hostileString(known: readonly string[]): fc.Arbitrary<string> {
  const tokenLike = fc
    .record({ t: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 60)), i: fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom(...NASTY_STRINGS)) })
    .map((body) => Buffer.from(JSON.stringify(body), 'utf8').toString('base64url'));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: known.length > 0 ? 3 : 0, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant('') },
    { weight: 1, arbitrary: fc.emailAddress() },
    { weight: 1, arbitrary: tokenLike },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((length) => 'é'.repeat(length)) },
    { weight: 1, arbitrary: fc.constant('z'.repeat(300_000)) },
  );
}

/** Values a well-behaved client sends: known ids, short plain words, small positive numbers. */
function plainScalar(scalar: ScalarType, known: readonly string[]): fc.Arbitrary<unknown> | undefined {
  switch (scalar) {
    case ScalarType.STRING:
      return known.length > 0 ? fc.oneof(fc.constantFrom(...known), fc.stringMatching(/^[a-z0-9-]{1,12}$/)) : fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 5 });
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(0n, 10_000n);
    default:
      return undefined;
  }
}

/** Plain values more often than not, so random requests are often valid and reach storage. */
function scalarArbitrary(scalar: ScalarType, known: readonly string[]): fc.Arbitrary<unknown> {
  const plain = plainScalar(scalar, known);
  const hostile = hostileScalar(scalar, known);
  return plain ? fc.oneof({ weight: 3, arbitrary: plain }, { weight: 2, arbitrary: hostile }) : hostile;
}

function hostileScalar(scalar: ScalarType, known: readonly string[]): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return hostileString(known);
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.oneof(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.constantFrom(0, 1, -1, 20, 100, 101, INT32_MAX, INT32_MIN));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 1, 2 ** 32 - 1));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.constantFrom(0n, 1n, 2n ** 53n, 2n ** 64n - 1n));
    default:
      // int64, sint64, sfixed64: around and past 2^53, which JavaScript numbers cannot hold.
      return fc.oneof(
        fc.bigInt(INT64_MIN, INT64_MAX),
        fc.bigInt(-1000n, 100_000n),
        fc.constantFrom(0n, 1n, -1n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n), INT64_MAX, INT64_MIN),
      );
  }
}

function fieldArbitrary(field: DescField, known: readonly string[], depth: number): fc.Arbitrary<unknown> {
  const element = (): fc.Arbitrary<unknown> => {
    if (field.fieldKind === 'list') {
      if (field.listKind === 'scalar') return scalarArbitrary(field.scalar, known);
      if (field.listKind === 'enum') return fc.integer({ min: INT32_MIN, max: INT32_MAX });
      return messageArbitrary(field.message, known, depth + 1);
    }
    if (field.fieldKind === 'scalar') return scalarArbitrary(field.scalar, known);
    if (field.fieldKind === 'enum') return fc.integer({ min: INT32_MIN, max: INT32_MAX });
    if (field.fieldKind === 'message') return messageArbitrary(field.message, known, depth + 1);
    return fc.constant(undefined);
  };
  if (field.fieldKind === 'list') {
    // Mostly short lists; sometimes around the 100-element limits.
    return fc.oneof({ weight: 5, arbitrary: fc.array(element(), { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(element(), { minLength: 95, maxLength: 130 }) });
  }
  if (field.fieldKind === 'map') return fc.constant({});
  return element();
}

/** Field values for a message of type `type`; nested messages to depth 3. */
function messageArbitrary(type: DescMessage, known: readonly string[], depth = 0): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const fields = type.fields.filter((field) => !field.oneof);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) model[field.localName] = fieldArbitrary(field, known, depth);
  // Every field set: in proto3 an absent field reads as its default, which the values include anyway.
  return fc.record(model);
}

/** Encoded requests of `method` with hostile field values (see hostileString and scalarArbitrary). */
export function hostileRequests(method: FuzzedMethod, known: readonly string[] = []): fc.Arbitrary<Buffer> {
  return messageArbitrary(method.input, known).map((init) => Buffer.from(toBinary(method.input, create(method.input, init as never))));
}

/** Random bytes as the request message: mostly no message at all, sometimes by chance a valid one. */
export const randomMessageBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes));

/** A gRPC length-prefixed frame of a hostile request, cut short or announcing a length it does not carry. */
export function truncatedFrames(method: FuzzedMethod, known: readonly string[] = []): fc.Arbitrary<Buffer> {
  return fc
    .tuple(hostileRequests(method, known), fc.nat(), fc.oneof(fc.constant(undefined), fc.nat({ max: 2 ** 32 - 1 })))
    .map(([message, cut, claimed]) => {
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(claimed ?? message.length, 1);
      const frame = Buffer.concat([prefix, message]);
      // A whole frame with the true length would be a valid call: cut it somewhere before its end.
      const end = claimed === undefined || claimed === message.length ? cut % frame.length : cut % (frame.length + 1);
      return frame.subarray(0, end);
    });
}

/** What a call ended with, as the client saw it. */
export interface RawAnswer {
  code: Status;
  details: string;
  metadata: Metadata;
}

/** A client that sends request bytes as they are (its serializer is the identity). */
export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure());
}

/** One unary call of `path` with `bytes` as the message, under a generous deadline so that a hang shows as DEADLINE_EXCEEDED. */
export function callRaw(client: Client, path: string, bytes: Buffer, deadlineMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      bytes,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details, metadata: error.metadata } : { code: Status.OK, details: '', metadata: new Metadata() }),
    );
  });
}

/**
 * Sends `body` as the whole request stream of a gRPC call over plain HTTP/2, bypassing grpc-js's
 * framing (so frames can be truncated), and resolves to the grpc-status the server ended with.
 */
export function sendFrames(address: string, path: string, body: Buffer, timeoutMs = 10_000): Promise<{ code: Status | 'no status'; details: string }> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${address}`);
    let code: Status | 'no status' = 'no status';
    let details = '';
    const timer = setTimeout(() => session.destroy(), timeoutMs);
    const read = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) code = Number(headers['grpc-status']);
      if (typeof headers['grpc-message'] === 'string') details = decodeURIComponent(headers['grpc-message']);
    };
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ code, details });
    });
    stream.end(body);
  });
}

/** Answers a request may get: success, or one that says what was wrong with it (never INTERNAL, UNKNOWN, UNAVAILABLE or a deadline: a fault or a hang). */
const REQUEST_ANSWER_CODES: ReadonlySet<Status> = new Set([
  Status.OK,
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.RESOURCE_EXHAUSTED,
]);

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `answer` is not a clean answer to a hostile request, or undefined when it is: a code in
 * REQUEST_ANSWER_CODES, INVALID_ARGUMENT with its BadRequest field violations, and a message that
 * is short and carries no control character (so no value was echoed raw).
 */
export function uncleanAnswer(answer: RawAnswer): string | undefined {
  const seen = `${Status[answer.code]}: ${JSON.stringify(answer.details.slice(0, 200))}`;
  if (!REQUEST_ANSWER_CODES.has(answer.code)) return `answered ${seen}`;
  if (answer.code === Status.INVALID_ARGUMENT && badRequestFields(answer).length === 0) return `INVALID_ARGUMENT without BadRequest field violations (${seen})`;
  if (answer.details.length > 2000) return `a message of ${answer.details.length} characters`;
  if (CONTROL_CHARACTER.test(answer.details)) return `a control character in the message (${seen})`;
  return undefined;
}

/** Counts answer codes per method, so a run shows it reached past validation (some OK, some NOT_FOUND) and is not vacuous. */
export class AnswerTally {
  private readonly counts = new Map<string, Map<string, number>>();

  record(method: string, code: Status | 'no status'): void {
    const byCode = this.counts.get(method) ?? new Map<string, number>();
    const name = typeof code === 'number' ? (Status[code] ?? String(code)) : code;
    byCode.set(name, (byCode.get(name) ?? 0) + 1);
    this.counts.set(method, byCode);
  }

  /** One line per method: `hostile | <label> <method> | OK 12, INVALID_ARGUMENT 250, …`. */
  lines(label: string): string {
    return [...this.counts]
      .map(([method, byCode]) => `hostile | ${label} ${method} | ${[...byCode].map(([code, count]) => `${code} ${count}`).join(', ')}\n`)
      .join('');
  }
}

/** The suite `describeHostileRequests` declares; read when each test runs, so beforeAll may fill it. */
export interface HostileRequestsSuite {
  /** A ts-proto grpc-js definition (e.g. `userV1.UserServiceService`): three tests per method. */
  definition: Record<string, { path: string }>;
  /** A raw client (see rawClient) of the server under test. */
  client: () => Client;
  /** The server's address, for truncated frames over plain HTTP/2. */
  address: () => string;
  /** Values that exist (ids), so requests also get past lookups. */
  known: readonly string[];
  seed: number;
  runs: number;
  tally: AnswerTally;
  /** What a refused request must leave unchanged, read before and after each call and compared with toEqual. */
  unchanged: {
    read: () => unknown;
    /** The answers that count as refused. */
    refused: (code: Status) => boolean;
    /** How the first test's name ends, after "a refused request ". */
    promise: string;
    /** When set, truncated frames must leave it unchanged too, and that test's name ends with ", and <this>". */
    truncatedFrames?: string;
  };
}

/**
 * Declares, per method of `suite.definition`, three property tests of hostile requests: random
 * field values and random bytes get a clean answer (uncleanAnswer) and a refused request changes
 * nothing; truncated frames end the call with a status that is no server fault.
 */
export function describeHostileRequests(suite: HostileRequestsSuite): void {
  const { unchanged } = suite;
  const oneCall = async (method: FuzzedMethod, bytes: Buffer) => {
    const before = await unchanged.read();
    const answer = await callRaw(suite.client(), method.path, bytes);
    suite.tally.record(method.name, answer.code);
    expect(uncleanAnswer(answer)).toBeUndefined();
    if (unchanged.refused(answer.code)) expect(await unchanged.read()).toEqual(before);
  };

  for (const method of methodsOf(suite.definition)) {
    it(`${method.name}: random field values get a clean answer, and a refused request ${unchanged.promise}`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequests(method, suite.known), (bytes) => oneCall(method, bytes)),
        { seed: suite.seed, numRuns: suite.runs },
      );
    });

    it(`${method.name}: random bytes as the message get a clean answer`, async () => {
      await fc.assert(
        fc.asyncProperty(randomMessageBytes, (bytes) => oneCall(method, bytes)),
        { seed: suite.seed, numRuns: suite.runs },
      );
    });

    const truncated = unchanged.truncatedFrames;
    it(`${method.name}: truncated frames end the call with a status that is no server fault${truncated ? `, and ${truncated}` : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(truncatedFrames(method, suite.known), async (frame) => {
          const before = truncated ? await unchanged.read() : undefined;
          const { code } = await sendFrames(suite.address(), method.path, frame);
          suite.tally.record(`${method.name} (truncated frames)`, code);
          // grpc-js itself answers a call whose message never completed: UNIMPLEMENTED or RESOURCE_EXHAUSTED.
          expect([Status.UNIMPLEMENTED, Status.RESOURCE_EXHAUSTED, Status.INVALID_ARGUMENT]).toContain(code);
          if (truncated) expect(await unchanged.read()).toEqual(before);
        }),
        { seed: suite.seed, numRuns: Math.ceil(suite.runs / 3) },
      );
    });
  }
}
