/** Longest id or key (user and order ids, request ids) any service accepts, in characters. */
export const MAX_ID_LENGTH = 128;

// C0 controls, DEL and C1 controls: no name, id, key or token needs them. PostgreSQL's text type
// refuses NUL outright, and the rest forge log lines or terminal output wherever a value is echoed.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export interface TextFieldRules {
  /** Most characters (code points) allowed. */
  maxLength: number;
  /** An empty value is a violation ("is required"). Default false. */
  required?: boolean;
}

function codePointsExceed(value: string, maxLength: number): boolean {
  // A string never has more code points than UTF-16 units, nor fewer than half as many.
  if (value.length <= maxLength) return false;
  if (value.length > maxLength * 2) return true;
  return [...value].length > maxLength;
}

/**
 * Adds a violation on `field` when `value` is missing (if required), too long, or holds control
 * characters, and answers whether it passed. The description never repeats the value.
 */
export function checkTextField(violations: { add(field: string, description: string): unknown }, field: string, value: string, rules: TextFieldRules): boolean {
  let problem: string | undefined;
  if (value === '') problem = rules.required ? 'is required' : undefined;
  else if (codePointsExceed(value, rules.maxLength)) problem = `must be at most ${rules.maxLength} characters`;
  else if (CONTROL_CHARACTER.test(value)) problem = 'must not contain control characters';
  if (problem) violations.add(field, problem);
  return problem === undefined;
}

const QUOTED_MAX_LENGTH = 64;

/**
 * `value` as it may appear in an error message: in double quotes, control characters escaped, cut
 * after 64 characters, so no message carries an over-long or terminal-forging value.
 */
export function quoted(value: string): string {
  const head = Array.from(value.slice(0, QUOTED_MAX_LENGTH * 2))
    .slice(0, QUOTED_MAX_LENGTH)
    .join('');
  const shown = head.length < value.length ? `${head}…` : head;
  // JSON.stringify escapes C0 controls and lone surrogates; DEL and C1 controls are escaped here.
  return JSON.stringify(shown).replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
