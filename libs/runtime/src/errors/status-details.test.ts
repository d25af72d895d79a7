import { status as Status } from '@grpc/grpc-js';
import { googleRpc } from '@switchyard/proto';
import { encodeBadRequestStatus } from './status-details';

describe('encodeBadRequestStatus', () => {
  it('writes a google.rpc.Status whose one detail is a google.rpc.BadRequest with every violation', () => {
    const bytes = encodeBadRequestStatus(Status.INVALID_ARGUMENT, 'name: is required; email: is not a valid email address', [
      { field: 'name', description: 'is required' },
      { field: 'email', description: 'is not a valid email address' },
    ]);
    const status = googleRpc.Status.decode(bytes);
    expect(status).toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'name: is required; email: is not a valid email address' });
    expect(status.details.map((detail) => detail.typeUrl)).toEqual(['type.googleapis.com/google.rpc.BadRequest']);
    expect(googleRpc.BadRequest.decode(status.details[0]!.value).fieldViolations.map(({ field, description }) => ({ field, description }))).toEqual([
      { field: 'name', description: 'is required' },
      { field: 'email', description: 'is not a valid email address' },
    ]);
  });
});
