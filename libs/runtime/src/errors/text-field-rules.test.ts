import { FieldViolations } from './domain-errors';
import { checkTextField, quoted } from './text-field-rules';

function violationsOf(value: string, rules: Parameters<typeof checkTextField>[3]): string[] {
  const violations = new FieldViolations();
  checkTextField(violations, 'id', value, rules);
  try {
    violations.throwIfAny();
    return [];
  } catch (error) {
    return (error as Error).message.split('; ');
  }
}

describe('checkTextField', () => {
  it('counts code points, not UTF-16 units, against the limit', () => {
    expect(violationsOf('😀'.repeat(3), { maxLength: 3 })).toEqual([]);
    expect(violationsOf('😀'.repeat(4), { maxLength: 3 })).toEqual(['id: must be at most 3 characters']);
  });

  it.each([
    ['NUL', '\u0000'],
    ['a line feed', 'a\nb'],
    ['ESC', '\u001b[2J'],
    ['DEL', '\u007f'],
    ['C1 NEL', '\u0085'],
    ['C1 CSI', '\u009b'],
  ])('refuses %s', (_name, value) => {
    expect(violationsOf(value, { maxLength: 10 })).toEqual(['id: must not contain control characters']);
  });

  it('accepts other unicode, and an empty value unless required', () => {
    expect(violationsOf('Zoë 😀 \u00a0 \u202e', { maxLength: 20 })).toEqual([]);
    expect(violationsOf('', { maxLength: 20 })).toEqual([]);
    expect(violationsOf('', { maxLength: 20, required: true })).toEqual(['id: is required']);
  });
});

describe('quoted', () => {
  it('quotes a short value as it is', () => {
    expect(quoted('ada')).toBe('"ada"');
  });

  it('escapes control characters, C1 ones included', () => {
    expect(quoted('a\u0000\n\u001b\u0085')).toBe('"a\\u0000\\n\\u001b\\u0085"');
  });

  it('cuts after 64 characters, whatever the length', () => {
    expect(quoted('x'.repeat(1_000_000))).toBe(`"${'x'.repeat(64)}…"`);
    expect(quoted('😀'.repeat(65))).toBe(`"${'😀'.repeat(64)}…"`);
  });
});
