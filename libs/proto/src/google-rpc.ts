// google.rpc.Status and the error details we send, as one namespace (`googleRpc` in the index).
export { Status } from './generated/google/rpc/status';
export { BadRequest, BadRequest_FieldViolation } from './generated/google/rpc/error_details';
