import { getExtension, type DescMethod, type FileRegistry } from '@bufbuild/protobuf';
import { parsePathTemplate, type PathTemplate } from './path-template';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP route of a gRPC method, from its `google.api.http` option. */
export interface HttpRoute {
  verb: HttpVerb;
  template: PathTemplate;
  /** `*` (the whole request is the body), a field name, or '' (no body: the rest comes from the query). */
  body: string;
  method: DescMethod;
  /** gRPC path, `/pkg.Service/Method`. */
  grpcPath: string;
}

const HTTP_RULE_EXTENSION = 'google.api.http';
const VERBS: Record<string, HttpVerb> = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', delete: 'DELETE' };

interface HttpRuleShape {
  pattern: { case: string | undefined; value?: unknown };
  body: string;
  additionalBindings: HttpRuleShape[];
}

function routesOfRule(rule: HttpRuleShape, method: DescMethod, grpcPath: string): HttpRoute[] {
  const verb = rule.pattern.case ? VERBS[rule.pattern.case] : undefined;
  if (!verb || typeof rule.pattern.value !== 'string') throw new Error(`${grpcPath}: google.api.http pattern ${rule.pattern.case ?? '(none)'} is not supported`);
  if (rule.body !== '' && rule.body !== '*' && !method.input.fields.some((field) => field.name === rule.body)) {
    throw new Error(`${grpcPath}: google.api.http body "${rule.body}" is not a field of ${method.input.typeName}`);
  }
  const template = parsePathTemplate(rule.pattern.value);
  for (const variable of template.variables) {
    if (!method.input.fields.some((field) => field.name === variable && field.fieldKind === 'scalar')) {
      throw new Error(`${grpcPath}: path variable {${variable}} is not a scalar field of ${method.input.typeName}`);
    }
  }
  return [{ verb, template, body: rule.body, method, grpcPath }, ...rule.additionalBindings.flatMap((binding) => routesOfRule(binding, method, grpcPath))];
}

/**
 * The HTTP routes of the given services' methods, read from their `google.api.http` options in
 * the descriptor set, most specific first (a route with more literal text wins, so
 * `/v1/users/{user_id}:withOrders` is tried before `/v1/users/{id}`). A method without the option
 * has no HTTP route. A rule this face cannot serve fails here, at start.
 */
export function httpRoutes(registry: FileRegistry, serviceNames: readonly string[]): HttpRoute[] {
  const extension = registry.getExtension(HTTP_RULE_EXTENSION);
  if (!extension) throw new Error(`the descriptor set has no ${HTTP_RULE_EXTENSION} extension; regenerate it (nx run proto:generate)`);
  const routes: HttpRoute[] = [];
  for (const name of serviceNames) {
    const service = registry.getService(name);
    if (!service) throw new Error(`no descriptor for ${name}; regenerate the descriptor set (nx run proto:generate)`);
    for (const method of service.methods) {
      const options = method.proto.options;
      if (!options || method.methodKind !== 'unary') continue;
      const rule = getExtension(options, extension) as unknown as HttpRuleShape | undefined;
      if (!rule?.pattern?.case) continue;
      routes.push(...routesOfRule(rule, method, `/${service.typeName}/${method.name}`));
    }
  }
  return routes.sort((a, b) => b.template.literalLength - a.template.literalLength);
}
