import { grpcTarget, isAddressSetting } from './grpc-target';

describe('grpcTarget', () => {
  it.each([
    ['registry:50051', 'dns:///registry:50051'],
    ['user:50052', 'dns:///user:50052'],
    ['order.internal:50053', 'dns:///order.internal:50053'],
    ['127.0.0.1:50051', 'dns:///127.0.0.1:50051'],
    ['[::1]:50051', 'dns:///[::1]:50051'],
  ])('reads the address setting %s as a host and port: %s', (address, target) => {
    expect(grpcTarget(address)).toBe(target);
  });

  it.each(['dns:///registry:50051', 'dns:registry:50051', 'ipv4:127.0.0.1:50051', 'ipv6:[::1]:50051', 'unix:/tmp/registry.sock'])(
    'keeps the explicit target %s',
    (target) => {
      expect(grpcTarget(target)).toBe(target);
    },
  );

  it.each(['registry:///user', 'nowhere', 'registry', ':50051', 'http://registry:50051'])('refuses %s', (address) => {
    expect(isAddressSetting(address)).toBe(false);
    expect(() => grpcTarget(address)).toThrow('is not host:port');
  });

  it('refuses a port past 65535', () => {
    expect(isAddressSetting('registry:70000')).toBe(false);
  });
});
