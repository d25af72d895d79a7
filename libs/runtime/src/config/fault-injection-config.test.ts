import { status as Status } from '@grpc/grpc-js';
import { ConfigError } from './env-config';
import { loadFaultRules } from './fault-injection-config';

describe('loadFaultRules', () => {
  it('is off when FAULTS is unset or empty', () => {
    expect(loadFaultRules({})).toEqual([]);
    expect(loadFaultRules({ FAULTS: '' })).toEqual([]);
  });

  it('reads the documented example into typed, frozen rules', () => {
    const rules = loadFaultRules({
      FAULTS: 'CreateOrder:abort=UNAVAILABLE@30%; GetUser:delay=200ms@50% ;CreateOrder:abort-after-commit=UNAVAILABLE@30%;',
    });
    expect(rules).toEqual([
      { kind: 'abort', method: 'CreateOrder', code: Status.UNAVAILABLE, percent: 30, source: 'CreateOrder:abort=UNAVAILABLE@30%' },
      { kind: 'delay', method: 'GetUser', delayMs: 200, percent: 50, source: 'GetUser:delay=200ms@50%' },
      { kind: 'abort-after-commit', method: 'CreateOrder', code: Status.UNAVAILABLE, percent: 30, source: 'CreateOrder:abort-after-commit=UNAVAILABLE@30%' },
    ]);
    expect(Object.isFrozen(rules)).toBe(true);
    expect(rules.every((rule) => Object.isFrozen(rule))).toBe(true);
  });

  it('accepts *, full paths, several faults per rule, seconds, fractional percentages and 100% by default', () => {
    const rules = loadFaultRules({ FAULTS: '*:delay=1.5s@0.5%,abort=deadline_exceeded;/switchyard.user.v1.UserService/GetUser:abort-after-commit=INTERNAL@0%' });
    expect(rules).toEqual([
      { kind: 'delay', method: '*', delayMs: 1500, percent: 0.5, source: '*:delay=1.5s@0.5%' },
      { kind: 'abort', method: '*', code: Status.DEADLINE_EXCEEDED, percent: 100, source: '*:abort=deadline_exceeded' },
      {
        kind: 'abort-after-commit',
        method: '/switchyard.user.v1.UserService/GetUser',
        code: Status.INTERNAL,
        percent: 0,
        source: '/switchyard.user.v1.UserService/GetUser:abort-after-commit=INTERNAL@0%',
      },
    ]);
  });

  it.each([
    ['GetUser', 'rule 1 "GetUser": expected <method>:<fault>[,<fault>...], e.g. CreateOrder:abort=UNAVAILABLE@30%'],
    ['Get-User:abort=UNAVAILABLE', 'rule 1 "Get-User:abort=UNAVAILABLE": method "Get-User": expected *, a method name such as CreateOrder, or a full path'],
    ['GetUser:explode=UNAVAILABLE', 'rule 1 "GetUser:explode=UNAVAILABLE": fault kind "explode": expected delay, abort or abort-after-commit'],
    ['GetUser:abort', 'rule 1 "GetUser:abort": fault "abort": expected delay=<duration>, abort=<CODE> or abort-after-commit=<CODE>'],
    ['GetUser:abort=UNAVAILBLE', 'rule 1 "GetUser:abort=UNAVAILBLE": code "UNAVAILBLE": expected a gRPC status name other than OK (CANCELLED, UNKNOWN,'],
    ['GetUser:abort-after-commit=OK', 'rule 1 "GetUser:abort-after-commit=OK": code "OK": expected a gRPC status name other than OK'],
    ['GetUser:delay=200', 'rule 1 "GetUser:delay=200": delay "200": expected a duration such as 200ms or 1.5s'],
    ['GetUser:delay=200ms@150%', 'rule 1 "GetUser:delay=200ms@150%": percentage "150%": expected 0% to 100%, e.g. 30%'],
    ['GetUser:abort=UNAVAILABLE@30', 'rule 1 "GetUser:abort=UNAVAILABLE@30": percentage "30": expected 0% to 100%, e.g. 30%'],
    ['GetUser:delay=5ms;GetUser:delay=9ms', 'rule 2 "GetUser:delay=9ms": repeats the delay fault of GetUser already given by rule 1; expected one delay rule per method'],
  ])('rejects %s, naming FAULTS, the rule and what it expects', (spec, message) => {
    expect(() => loadFaultRules({ FAULTS: spec })).toThrow(ConfigError);
    expect(() => loadFaultRules({ FAULTS: spec })).toThrow(`FAULTS=${JSON.stringify(spec)}: ${message}`);
  });

  it('lists every bad rule at once', () => {
    const spec = 'GetUser:delay=fast;CreateOrder:abort=UNAVAILABLE;*:abort=NOPE@5%';
    const error = (() => {
      try {
        loadFaultRules({ FAULTS: spec });
      } catch (thrown) {
        return thrown as Error;
      }
    })();
    expect(error?.message).toContain('rule 1 "GetUser:delay=fast": delay "fast"');
    expect(error?.message).toContain('rule 3 "*:abort=NOPE@5%": code "NOPE"');
    expect(error?.message).not.toContain('rule 2');
  });
});
