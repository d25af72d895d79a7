import { Metadata, status as Status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { callUnary } from './call-unary';

type Callback = (error: ServiceError | null, response: string) => void;

function unavailable(): ServiceError {
  return Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: Status.UNAVAILABLE, details: 'no connection', metadata: new Metadata() });
}

function fakeCall(): ClientUnaryCall & { cancelled: number } {
  const call = { cancelled: 0, cancel: () => (call.cancelled += 1) };
  return call as unknown as ClientUnaryCall & { cancelled: number };
}

describe('callUnary', () => {
  it('rejects with the error of a method that calls back before it returns', async () => {
    const signal = new AbortController().signal;
    const method = (_request: string, _metadata: Metadata, _options: unknown, callback: Callback) => {
      callback(unavailable(), '');
      return fakeCall();
    };
    await expect(callUnary(method, 'x', { signal })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('rejects, without throwing, when the method calls back and then throws', async () => {
    const signal = new AbortController().signal;
    const method = (_request: string, _metadata: Metadata, _options: unknown, callback: Callback): ClientUnaryCall => {
      callback(unavailable(), '');
      throw new RangeError('Maximum call stack size exceeded');
    };
    await expect(callUnary(method, 'x', { signal })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('rejects INTERNAL with the message when the method throws without calling back', async () => {
    const method = (): ClientUnaryCall => {
      throw new TypeError('channel target is invalid');
    };
    await expect(callUnary(method, 'x')).rejects.toMatchObject({ code: Status.INTERNAL, details: 'channel target is invalid' });
  });

  it('cancels the call when the signal aborts, and not after it settled', async () => {
    const controller = new AbortController();
    const call = fakeCall();
    let callback: Callback | undefined;
    const method = (_request: string, _metadata: Metadata, _options: unknown, cb: Callback) => {
      callback = cb;
      return call;
    };
    const pending = callUnary(method, 'x', { signal: controller.signal });
    controller.abort();
    expect(call.cancelled).toBe(1);
    callback!(null, 'late');
    await expect(pending).resolves.toBe('late');

    const settledFirst = fakeCall();
    const answered = callUnary((_r: string, _m: Metadata, _o: unknown, cb: Callback) => (cb(null, 'ok'), settledFirst), 'x', { signal: controller.signal });
    await expect(answered).resolves.toBe('ok');
    expect(settledFirst.cancelled).toBe(0);
  });
});
