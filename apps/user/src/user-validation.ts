import { FieldViolations, MAX_ID_LENGTH, checkTextField } from '@switchyard/runtime';

export const MAX_NAME_LENGTH = 200;
// RFC 5321 caps a forward path at 256 octets including the angle brackets.
export const MAX_EMAIL_LENGTH = 254;
export const MAX_BATCH_IDS = 100;

// Deliberately loose: one @, something on each side, a dot in the domain, no spaces. Whether the
// mailbox exists is for a confirmation mail to find out, not a regex.
const EMAIL_FORMAT = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A CreateUser request after validation, in stored form. */
export interface NewUserInput {
  name: string;
  email: string;
}

/** The same address written in any case or with stray spaces is one address. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Checks a CreateUser request; throws INVALID_ARGUMENT listing every bad field. */
export function validateCreateUser(request: { name: string; email: string }): NewUserInput {
  const violations = new FieldViolations();
  const name = request.name.trim();
  const email = normalizeEmail(request.email);
  checkTextField(violations, 'name', name, { required: true, maxLength: MAX_NAME_LENGTH });
  if (checkTextField(violations, 'email', email, { required: true, maxLength: MAX_EMAIL_LENGTH }) && !EMAIL_FORMAT.test(email)) {
    violations.add('email', 'is not a valid email address');
  }
  violations.throwIfAny();
  return { name, email };
}

/** Checks a GetUser request's id. */
export function validateUserId(id: string): void {
  const violations = new FieldViolations();
  checkTextField(violations, 'id', id, { required: true, maxLength: MAX_ID_LENGTH });
  violations.throwIfAny();
}

/** Checks a BatchGetUsers request's ids: 1 to 100, each a valid id. Repeated ids are allowed. */
export function validateBatchIds(ids: readonly string[]): void {
  const violations = new FieldViolations();
  if (ids.length === 0) violations.add('ids', 'must name at least one user');
  else if (ids.length > MAX_BATCH_IDS) violations.add('ids', `must name at most ${MAX_BATCH_IDS} users`);
  else ids.forEach((id, index) => checkTextField(violations, `ids[${index}]`, id, { required: true, maxLength: MAX_ID_LENGTH }));
  violations.throwIfAny();
}
