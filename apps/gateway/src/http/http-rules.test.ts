import { descriptorSetBase64 } from '@switchyard/proto';
import { descriptorRegistry } from '@switchyard/runtime';
import { httpRoutes } from './http-rules';

describe('httpRoutes', () => {
  const registry = descriptorRegistry(descriptorSetBase64);

  it('reads the google.api.http rules of the given services, most specific first', () => {
    const routes = httpRoutes(registry, ['switchyard.user.v1.UserService', 'switchyard.gateway.v1.GatewayService']);
    expect(routes.map((route) => `${route.verb} ${route.template.source} ${route.grpcPath}`)).toEqual([
      'GET /v1/users/{user_id}:withOrders /switchyard.gateway.v1.GatewayService/GetUserWithOrders',
      'POST /v1/users /switchyard.user.v1.UserService/CreateUser',
      'GET /v1/users/{id} /switchyard.user.v1.UserService/GetUser',
      'GET /v1/users /switchyard.user.v1.UserService/ListUsers',
    ]);
    // The aggregate's route is tried before GetUser's, which would also match its path.
    expect(routes.find((route) => route.template.match('/v1/users/u1:withOrders'))?.grpcPath).toBe('/switchyard.gateway.v1.GatewayService/GetUserWithOrders');
  });

  it('gives no route to a service without rules, and refuses a service the set does not describe', () => {
    expect(httpRoutes(registry, ['switchyard.registry.v1.RegistryService'])).toEqual([]);
    expect(() => httpRoutes(registry, ['switchyard.nope.v1.Nope'])).toThrow(/no descriptor for switchyard.nope.v1.Nope/);
  });
});
