import { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from '@switchyard/runtime';
import { tokenAccess } from './registry-access';

const call = (authorization?: string) => {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return { metadata, peer: '127.0.0.1:5000' };
};

describe('tokenAccess', () => {
  it('without tokens, lets everyone do everything', () => {
    const caller = tokenAccess({})(call());
    expect([caller.mayRegister('user'), caller.mayRenew, caller.mayRead, caller.authenticated]).toEqual([true, true, true, false]);
  });

  it('grants a service token its services only, the fleet token every service, both reads', () => {
    const access = tokenAccess({ fleetToken: 'fleet', serviceTokens: { user: 'shared-token', gateway: 'shared-token', order: 'order-token' } });
    const shared = access(call('Bearer shared-token'));
    expect([shared.mayRegister('user'), shared.mayRegister('gateway'), shared.mayRegister('order'), shared.mayRead, shared.mayRenew]).toEqual([true, true, false, true, true]);
    expect(shared.description).toBe('the token of user');
    const fleet = access(call('Bearer fleet'));
    expect([fleet.mayRegister('anything'), fleet.description]).toEqual([true, 'the fleet token']);
  });

  it('lets the fleet token register anything even when it is also a service token', () => {
    expect(tokenAccess({ fleetToken: 'same', serviceTokens: { user: 'same' } })(call('Bearer same')).mayRegister('order')).toBe(true);
  });

  it('with tokens, leaves a caller without one nothing but reads, and those only when read access is open', () => {
    const anonymous = tokenAccess({ fleetToken: 'fleet' })(call());
    expect([anonymous.mayRegister('user'), anonymous.mayRenew, anonymous.mayRead]).toEqual([false, false, false]);
    expect(tokenAccess({ fleetToken: 'fleet', readAccess: 'open' })(call()).mayRead).toBe(true);
  });

  it('refuses a wrong token or a malformed header as unauthenticated', () => {
    const access = tokenAccess({ fleetToken: 'fleet' });
    expect(() => access(call('Bearer flee'))).toThrow(new UnauthenticatedError('the registry token was rejected (check REGISTRY_TOKEN)'));
    expect(() => access(call('fleet'))).toThrow(/must be "Bearer <REGISTRY_TOKEN>"/);
  });
});
