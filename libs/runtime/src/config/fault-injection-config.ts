import { status as Status } from '@grpc/grpc-js';
import { z } from 'zod';
import { parseEnv } from './env-config';

/*
 * FAULTS: server-side fault injection, like Envoy's HTTP fault filter. Unset or empty: off.
 *
 *   FAULTS   = rule { ";" rule }
 *   rule     = method ":" fault { "," fault }
 *   method   = "*" | MethodName | "/" package.Service "/" MethodName
 *   fault    = "delay=" duration [ "@" percent ]              wait, then run the call
 *            | "abort=" CODE [ "@" percent ]                  answer CODE, the handler never runs
 *            | "abort-after-commit=" CODE [ "@" percent ]     run the handler, then answer CODE instead of its response
 *   duration = whole number "ms" | number "s"                 e.g. 200ms, 1.5s
 *   percent  = number from 0 to 100, then "%"                 default 100%
 *   CODE     = a gRPC status name other than OK, e.g. UNAVAILABLE, DEADLINE_EXCEEDED
 *
 * e.g. FAULTS="CreateOrder:abort=UNAVAILABLE@30%;GetUser:delay=200ms@50%;CreateOrder:abort-after-commit=UNAVAILABLE@30%"
 *
 * For each fault kind a call gets the rule of its most specific selector (full path, then bare
 * method name, then `*`), so `*:abort=UNAVAILABLE@10%;GetUser:abort=UNAVAILABLE@0%` spares GetUser.
 * One method may not have two rules of the same kind under the same selector.
 */

/** Which methods a rule applies to: `*`, a bare method name (any service), or a full path. */
export type FaultMethodSelector = string;

interface FaultRuleBase {
  method: FaultMethodSelector;
  /** Share of calls the fault hits, 0 to 100; for abort-after-commit, of the calls that succeed. */
  percent: number;
  /** The rule as written, `method:fault`, for logs and injected error details. */
  source: string;
}

export interface DelayFaultRule extends FaultRuleBase {
  kind: 'delay';
  delayMs: number;
}

export interface AbortFaultRule extends FaultRuleBase {
  /** `abort`: before the handler runs; `abort-after-commit`: after it succeeded, dropping its response. */
  kind: 'abort' | 'abort-after-commit';
  /** Never OK. */
  code: Status;
}

export type FaultRule = DelayFaultRule | AbortFaultRule;
export type FaultKind = FaultRule['kind'];

const EXAMPLE = 'CreateOrder:abort=UNAVAILABLE@30%';
const METHOD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FULL_PATH = /^\/[A-Za-z_][A-Za-z0-9_.]*\/[A-Za-z_][A-Za-z0-9_]*$/;
// setTimeout fires at once, with a warning, beyond this.
const MAX_DELAY_MS = 2 ** 31 - 1;
const ERROR_CODE_NAMES = Object.keys(Status).filter((name) => Number.isNaN(Number(name)) && name !== 'OK');

function parseMethod(text: string): string | undefined {
  if (text === '*' || METHOD_NAME.test(text) || FULL_PATH.test(text)) return undefined;
  return `method "${text}": expected *, a method name such as CreateOrder, or a full path such as /switchyard.order.v1.OrderService/CreateOrder`;
}

function parsePercent(text: string | undefined): number | string {
  if (text === undefined) return 100;
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent >= 0 && percent <= 100)) return `percentage "${text}": expected 0% to 100%, e.g. 30%`;
  return percent;
}

function parseDelay(text: string): number | string {
  const match = /^(?:(\d+)ms|(\d+(?:\.\d+)?)s)$/.exec(text);
  const ms = match ? (match[1] !== undefined ? Number(match[1]) : Math.round(Number(match[2]) * 1000)) : Number.NaN;
  if (Number.isNaN(ms)) return `delay "${text}": expected a duration such as 200ms or 1.5s`;
  if (ms > MAX_DELAY_MS) return `delay "${text}": expected at most ${MAX_DELAY_MS}ms`;
  return ms;
}

function parseCode(text: string): Status | string {
  const name = text.toUpperCase();
  if (ERROR_CODE_NAMES.includes(name)) return Status[name as keyof typeof Status];
  return `code "${text}": expected a gRPC status name other than OK (${ERROR_CODE_NAMES.join(', ')})`;
}

// One `kind=value[@percent]` of a rule: the rule it makes, or what is wrong with it.
function parseFault(method: string, text: string): FaultRule | string {
  const source = `${method}:${text}`;
  const equals = text.indexOf('=');
  const kind = equals < 0 ? text : text.slice(0, equals);
  const [value, percentText, extra] = text.slice(equals + 1).split('@');
  if (equals < 0 || !value || extra !== undefined) {
    return `fault "${text}": expected delay=<duration>, abort=<CODE> or abort-after-commit=<CODE>, optionally followed by @<percent>, e.g. abort=UNAVAILABLE@30%`;
  }
  const percent = parsePercent(percentText);
  if (typeof percent === 'string') return percent;
  if (kind === 'delay') {
    const delayMs = parseDelay(value);
    return typeof delayMs === 'string' ? delayMs : { kind, method, delayMs, percent, source };
  }
  if (kind === 'abort' || kind === 'abort-after-commit') {
    const code = parseCode(value);
    return typeof code === 'string' ? code : { kind, method, code, percent, source };
  }
  return `fault kind "${kind}": expected delay, abort or abort-after-commit`;
}

/** Parses a FAULTS value into its rules, or lists what is wrong with each bad rule. */
function parseFaults(spec: string): { rules: FaultRule[]; problems: string[] } {
  const rules: FaultRule[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const texts = spec.split(';').map((text) => text.trim());
  texts.forEach((ruleText, index) => {
    if (ruleText === '') return;
    const where = `rule ${index + 1} "${ruleText}"`;
    const colon = ruleText.indexOf(':');
    if (colon <= 0 || colon === ruleText.length - 1) {
      problems.push(`${where}: expected <method>:<fault>[,<fault>...], e.g. ${EXAMPLE}`);
      return;
    }
    const method = ruleText.slice(0, colon).trim();
    const methodProblem = parseMethod(method);
    if (methodProblem) {
      problems.push(`${where}: ${methodProblem}`);
      return;
    }
    for (const faultText of ruleText.slice(colon + 1).split(',').map((text) => text.trim())) {
      const rule = parseFault(method, faultText);
      if (typeof rule === 'string') {
        problems.push(`${where}: ${rule}`);
        continue;
      }
      const key = `${rule.method}\n${rule.kind}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        problems.push(`${where}: repeats the ${rule.kind} fault of ${method} already given by rule ${earlier}; expected one ${rule.kind} rule per method`);
        continue;
      }
      seen.set(key, index + 1);
      rules.push(Object.freeze(rule));
    }
  });
  return { rules, problems };
}

/**
 * The FAULTS variable for `parseEnv` shapes (e.g. beside the other variables of
 * `loadServiceConfig`): unset or empty gives no rules; each bad rule becomes one issue naming the
 * rule and what is expected.
 */
export const faultsVariable = () =>
  z
    .string()
    .optional()
    .transform((spec, ctx): readonly FaultRule[] => {
      const { rules, problems } = parseFaults(spec ?? '');
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return problems.length > 0 ? z.NEVER : Object.freeze(rules);
    });

/** Reads FAULTS into a frozen rule list (empty, so off, when unset); throws a ConfigError naming FAULTS and each bad rule. */
export function loadFaultRules(env: Record<string, string | undefined> = process.env): readonly FaultRule[] {
  return parseEnv({ FAULTS: faultsVariable() }, env).FAULTS;
}
