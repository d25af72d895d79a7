import { channelCredentials, createAppContext, createPeerClients, routingHeaderNames, runMain, startService } from '@switchyard/runtime';
import { checkAuthMethods, loadAuthConfig } from './auth/auth-config';
import { authMiddleware } from './auth/auth-middleware';
import { edgeAuthRules } from './auth/auth-rules-watch';
import { createTokenVerifier } from './auth/token-verifier';
import { loadBreakerConfig } from './breaker/breaker-config';
import { breakerStateGauge } from './breaker/breaker-metrics';
import { CircuitBreaker } from './breaker/circuit-breaker';
import { toEdgeError } from './edge-errors';
import { forwardingService } from './forwarding-service';
import { grpcUpstream } from './grpc-upstream';
import { loadHttpConfig } from './http/http-config';
import { loopbackAddress, startGatewayHttp } from './http/gateway-http';
import { PUBLIC_SERVICES } from './public-services';
import { edgeRateLimits } from './rate-limit/edge-rate-limits';
import { loadRateLimitConfig } from './rate-limit/rate-limit-config';
import { createGatewayService } from './user-with-orders';

runMain(async () => {
  const app = createAppContext('gateway');
  const httpConfig = loadHttpConfig();
  const auth = loadAuthConfig();
  if (!auth) app.logger.warn('auth is off: every method is callable without a token; set AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_JWKS_FILE to require one');
  const clients = createPeerClients(app);
  // The canary header reaches the services called, from HTTP and gRPC callers alike.
  const routingHeaders = routingHeaderNames(app.config.routingRules);
  // One breaker per upstream service, shared by every call the gateway makes to it.
  const breakerConfig = loadBreakerConfig();
  const breakerGauge = app.metrics ? breakerStateGauge(app.metrics.registry, ['user', 'order']) : undefined;
  const breakerFor = (upstream: 'user' | 'order') => new CircuitBreaker({ upstream, ...breakerConfig, logger: app.logger, onStateChange: breakerGauge?.(upstream) });
  const breakers = { user: breakerFor('user'), order: breakerFor('order') };
  const upstream = grpcUpstream(clients, { user: 'registry:///user', order: 'registry:///order' }, routingHeaders, breakers);
  const forwarded = PUBLIC_SERVICES.map((service) =>
    forwardingService(service, clients.get(service.client, `registry:///${service.app}`), {
      toEdgeError,
      forwardedHeaders: routingHeaders,
      breaker: breakers[service.app],
    }),
  );
  const services = [createGatewayService(upstream), ...forwarded];
  const servedMethods = services.flatMap((service) => Object.values(service.definition).map((method) => method.path));
  if (auth) checkAuthMethods(auth, servedMethods);
  const authRules = auth && edgeAuthRules(auth, servedMethods, app.logger);
  const edge = authMiddleware({ verify: auth && createTokenVerifier(auth, { logger: app.logger }), rules: authRules?.current });
  const rateLimits = edgeRateLimits(loadRateLimitConfig(), app.logger, servedMethods);
  // HTTP listens first, so it is ready when gRPC reports SERVING; its calls wait for the gRPC
  // port (GRPC_PORT=0 picks one while binding).
  let grpcBound!: (address: string) => void;
  const http = await startGatewayHttp({
    http: httpConfig,
    serviceNames: services.map((service) => service.name),
    grpcAddress: new Promise<string>((resolve) => (grpcBound = resolve)),
    credentials: channelCredentials(app.config.tls),
    serverLimits: app.config.limits,
    deadlineMs: app.config.defaultDeadlineMs,
    version: app.config.version,
    toEdgeError,
    forwardedHeaders: routingHeaders,
    logger: app.logger,
    stampClientAddress: rateLimits.stampClientAddress,
  });
  let httpClosed: Promise<void> | undefined;
  const grpc = await startService({
    ...app,
    services,
    // Client addresses before auth (which drops every x-switchyard-* header a call brings), rate
    // limits after it (they read the subject it sets).
    middleware: [rateLimits.clientAddressMiddleware, edge, rateLimits.rateLimitMiddleware],
    // HTTP stops taking requests when gRPC does; its calls in flight finish first.
    endStreams: () => void (httpClosed = http.close()),
    onShutdown: async () => {
      await httpClosed;
      clients.close();
      authRules?.close();
      await rateLimits.close();
    },
  });
  grpcBound(loopbackAddress(app.config.grpcHost, grpc.port));
});
