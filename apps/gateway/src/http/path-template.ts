/**
 * A google.api.http path template with single-segment variables and an optional verb:
 * `/v1/users/{user_id}:withOrders`. Variables bind one path segment (`{id}` is `{id=*}`); the
 * wider forms (`{name=shelves/*}`, `**`) are not used by our protos and are refused at start.
 */
export interface PathTemplate {
  /** As written in the proto. */
  readonly source: string;
  /** Field paths bound by the path, in order, e.g. `['user_id']`. */
  readonly variables: readonly string[];
  /** Literal characters in the template: more literal text is a more specific route. */
  readonly literalLength: number;
  /** The bindings of `path` (already split from its query), or undefined when it does not match. */
  match(path: string): Record<string, string> | undefined;
}

const VARIABLE = /^\{([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\}$/;
const LITERAL = /^[A-Za-z0-9._~-]+$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function parsePathTemplate(source: string): PathTemplate {
  if (!source.startsWith('/')) throw new Error(`http rule ${source}: a path template starts with /`);
  const lastSlash = source.lastIndexOf('/');
  const verbAt = source.indexOf(':', lastSlash);
  const verb = verbAt === -1 ? '' : source.slice(verbAt + 1);
  const segments = source.slice(1, verbAt === -1 ? undefined : verbAt).split('/');
  const variables: string[] = [];
  let pattern = '';
  let literalLength = verb.length;
  for (const segment of segments) {
    const variable = VARIABLE.exec(segment);
    if (variable) {
      variables.push(variable[1]);
      pattern += '/([^/]+)';
    } else if (LITERAL.test(segment)) {
      literalLength += segment.length;
      pattern += `/${escapeRegExp(segment)}`;
    } else {
      throw new Error(`http rule ${source}: segment "${segment}" is neither a literal nor a {field} variable`);
    }
  }
  if (verb && !LITERAL.test(verb)) throw new Error(`http rule ${source}: verb "${verb}" is not a literal`);
  const regexp = new RegExp(`^${pattern}${verb ? escapeRegExp(`:${verb}`) : ''}$`);
  return {
    source,
    variables,
    literalLength,
    match(path) {
      const found = regexp.exec(path);
      if (!found) return undefined;
      const bindings: Record<string, string> = {};
      for (const [index, name] of variables.entries()) {
        let value: string;
        try {
          value = decodeURIComponent(found[index + 1]);
        } catch {
          return undefined;
        }
        bindings[name] = value;
      }
      return bindings;
    },
  };
}
