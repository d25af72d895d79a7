import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import type { HttpRoute } from './http-rules';

type Schema = Record<string, unknown>;

const PROBLEM_SCHEMA: Schema = {
  type: 'object',
  description: 'RFC 9457 problem details, with the gRPC status code name, field violations (google.rpc.BadRequest) and the trace id.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'gRPC status code name, e.g. INVALID_ARGUMENT' },
    fieldViolations: {
      type: 'array',
      items: { type: 'object', required: ['field', 'description'], properties: { field: { type: 'string' }, description: { type: 'string' } } },
    },
    traceId: { type: 'string' },
  },
};

// proto3 JSON: 64-bit integers are strings, so no precision is lost in JavaScript clients.
function scalarSchema(type: ScalarType): Schema {
  switch (type) {
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { type: 'string', contentEncoding: 'base64' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: 'number' };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: 'string', format: 'int64' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'uint32', minimum: 0 };
    default:
      return { type: 'integer', format: 'int32' };
  }
}

const WELL_KNOWN: Record<string, Schema> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time', description: 'RFC 3339, UTC' },
  'google.protobuf.Duration': { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?s$' },
};

const refTo = (message: DescMessage) => ({ $ref: `#/components/schemas/${message.typeName}` });

class SchemaCollector {
  readonly schemas: Record<string, Schema> = {};

  message(message: DescMessage): Schema {
    const known = WELL_KNOWN[message.typeName];
    if (known) return known;
    if (!(message.typeName in this.schemas)) {
      const schema: Schema = { type: 'object', additionalProperties: false, properties: {} };
      this.schemas[message.typeName] = schema;
      for (const field of message.fields) (schema.properties as Record<string, Schema>)[field.jsonName] = this.field(field);
    }
    return refTo(message);
  }

  private enumSchema(enumeration: DescEnum): Schema {
    return { type: 'string', enum: enumeration.values.map((value) => value.name) };
  }

  private single(field: { scalar?: ScalarType; message?: DescMessage; enum?: DescEnum }): Schema {
    if (field.message) return this.message(field.message);
    if (field.enum) return this.enumSchema(field.enum);
    return scalarSchema(field.scalar ?? ScalarType.STRING);
  }

  field(field: DescField): Schema {
    switch (field.fieldKind) {
      case 'scalar':
        return scalarSchema(field.scalar);
      case 'enum':
        return this.enumSchema(field.enum);
      case 'message':
        return this.message(field.message);
      case 'list':
        return { type: 'array', items: this.single({ scalar: field.scalar, message: field.message, enum: field.enum }) };
      case 'map':
        return { type: 'object', additionalProperties: this.single({ scalar: field.scalar, message: field.message, enum: field.enum }) };
    }
  }
}

// Path parameters keep the template's names ({user_id}); query parameters use the JSON name and
// accept the proto name too.
function parameterIn(field: DescField, where: 'path' | 'query', schema: Schema) {
  if (where === 'path') return { name: field.name, in: where, required: true, schema };
  return { name: field.jsonName, in: where, required: false, schema, ...(field.name !== field.jsonName ? { description: `also accepted as ${field.name}` } : {}) };
}

/**
 * The OpenAPI 3.1 document of the HTTP face, from the same routes and messages it serves: one
 * operation per google.api.http rule, request and response schemas from the proto messages in
 * their proto3 JSON form, and the problem shape of every error.
 */
export function openApiDocument(routes: readonly HttpRoute[], info: { title: string; version: string }): Schema {
  const collector = new SchemaCollector();
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const input = route.method.input;
    const bound = new Set(route.template.variables);
    const parameters = route.template.variables.map((name) => {
      const field = input.fields.find((candidate) => candidate.name === name)!;
      return parameterIn(field, 'path', collector.field(field));
    });
    if (route.body === '') {
      for (const field of input.fields) {
        if (bound.has(field.name) || field.fieldKind === 'message' || field.fieldKind === 'map' || (field.fieldKind === 'list' && field.listKind === 'message')) continue;
        parameters.push(parameterIn(field, 'query', collector.field(field)));
      }
    }
    const bodyField = route.body !== '' && route.body !== '*' ? input.fields.find((field) => field.name === route.body) : undefined;
    const operation: Schema = {
      operationId: `${route.method.parent.name}_${route.method.name}`,
      summary: `${route.method.parent.typeName}/${route.method.name}`,
      tags: [route.method.parent.typeName],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body !== ''
        ? { requestBody: { required: true, content: { 'application/json': { schema: bodyField ? collector.field(bodyField) : collector.message(input) } } } }
        : {}),
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: collector.message(route.method.output) } } },
        default: { description: 'An error, as RFC 9457 problem details', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
    (paths[route.template.source] ??= {})[route.verb.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { schemas: { ...collector.schemas, Problem: PROBLEM_SCHEMA } },
  };
}
