import { fromJson, type DescMessage, type FileRegistry, type JsonObject, type JsonValue, type Message } from '@bufbuild/protobuf';
import { FieldViolations } from '@switchyard/runtime';
import type { HttpRoute } from './http-rules';

/** What an HTTP request carries toward its gRPC request. */
export interface HttpRequestParts {
  /** Path variables by field name. */
  bindings: Record<string, string>;
  /** Query parameters, a list where a name repeats. */
  query: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when there is none. */
  body: unknown;
}

function fieldOf(message: DescMessage, key: string) {
  return message.fields.find((field) => field.jsonName === key || field.name === key);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names every key of `json` that is no field of `message`, at any depth (proto3 JSON rejects them). */
function collectUnknownFields(message: DescMessage, json: JsonObject, path: string, violations: FieldViolations): void {
  for (const [key, value] of Object.entries(json)) {
    const field = fieldOf(message, key);
    if (!field) {
      violations.add(`${path}${key}`, `is not a field of ${message.name}`);
      continue;
    }
    // Well-known types (Timestamp) have their own JSON form, checked by the decoder.
    if (field.message && !field.message.typeName.startsWith('google.protobuf.')) {
      const nested = field.message;
      if (field.fieldKind === 'message' && isObject(value)) collectUnknownFields(nested, value, `${path}${field.name}.`, violations);
      if (field.fieldKind === 'list' && Array.isArray(value)) {
        value.forEach((item, index) => isObject(item) && collectUnknownFields(nested, item, `${path}${field.name}[${index}].`, violations));
      }
    }
  }
}

// bufbuild's decoder names the field it could not read: "cannot decode field pkg.Msg.field from JSON: ...".
const DECODE_ERROR = /cannot decode (?:field|message) ([\w.]+) from JSON: (.*)$/s;

function decodeViolation(error: unknown): { field: string; description: string } {
  const message = error instanceof Error ? error.message : String(error);
  const found = DECODE_ERROR.exec(message);
  if (!found) return { field: '', description: message };
  const field = found[1].slice(found[1].lastIndexOf('.') + 1);
  return { field, description: `cannot be read from JSON: ${found[2]}` };
}

/**
 * The gRPC request of an HTTP call, by the google.api.http rules and the proto3 JSON mapping:
 * path variables, then the body (`*`: all of it; a field name: that field), then, for a rule
 * without a body, query parameters for top-level fields. Field names are accepted as JSON names
 * (camelCase) or as written in the proto. Unknown fields and values of the wrong type are
 * INVALID_ARGUMENT naming each field.
 */
export function bindRequest(route: HttpRoute, parts: HttpRequestParts, registry: FileRegistry): Message {
  const input = route.method.input;
  const violations = new FieldViolations();
  let json: JsonObject = {};
  if (route.body === '*') {
    if (parts.body !== undefined && !isObject(parts.body)) violations.add('', 'the request body must be a JSON object');
    else json = { ...(parts.body as JsonObject | undefined) };
  } else if (route.body !== '') {
    if (parts.body !== undefined) json[fieldOf(input, route.body)!.jsonName] = parts.body as JsonValue;
  } else {
    for (const [key, value] of Object.entries(parts.query)) {
      if (value === undefined) continue;
      const field = fieldOf(input, key);
      if (!field || (field.fieldKind !== 'scalar' && field.fieldKind !== 'enum' && !(field.fieldKind === 'list' && field.listKind !== 'message'))) {
        violations.add(key, `is not a query parameter of ${route.verb} ${route.template.source}`);
        continue;
      }
      json[field.jsonName] = field.fieldKind === 'list' ? [value].flat() : Array.isArray(value) ? value[value.length - 1] : value;
    }
  }
  if (route.body !== '' && Object.keys(parts.query).length > 0) {
    for (const key of Object.keys(parts.query)) violations.add(key, `is not a query parameter of ${route.verb} ${route.template.source}`);
  }
  collectUnknownFields(input, json, '', violations);
  for (const [name, value] of Object.entries(parts.bindings)) {
    const field = fieldOf(input, name)!;
    delete json[field.name];
    json[field.jsonName] = value;
  }
  violations.throwIfAny();
  try {
    return fromJson(input, json, { registry });
  } catch (error) {
    const { field, description } = decodeViolation(error);
    violations.add(field, description).throwIfAny();
    throw error;
  }
}
