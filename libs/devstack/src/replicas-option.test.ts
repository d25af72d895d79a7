import { parseReplicaCounts, replicasFromCommandLine, ReplicasOptionError } from './replicas-option';

describe('parseReplicaCounts', () => {
  it('reads counts by app', () => {
    expect(parseReplicaCounts('user=2,order=3')).toEqual({ user: 2, order: 3 });
    expect(parseReplicaCounts(' user=16 ')).toEqual({ user: 16 });
    expect(parseReplicaCounts('order=1')).toEqual({ order: 1 });
  });

  it.each([
    ['', /--replicas="": expected <app>=<count>/],
    ['user', /"user": expected <app>=<count>/],
    ['user=2,', /expected <app>=<count>/],
    ['billing=2', /"billing=2": no app named "billing"; replicas apply to user and order/],
    ['gateway=2', /"gateway=2": only user and order run replicas/],
    ['registry=3', /"registry=3": only user and order run replicas/],
    ['user=0', /"user=0": the count must be a whole number from 1 to 16/],
    ['user=17', /"user=17": the count must be a whole number from 1 to 16/],
    ['user=two', /the count must be a whole number from 1 to 16/],
    ['user=1.5', /the count must be a whole number from 1 to 16/],
    ['user=2,user=3', /user is given twice/],
  ])('rejects %j, saying why', (text, message) => {
    expect(() => parseReplicaCounts(text)).toThrow(ReplicasOptionError);
    expect(() => parseReplicaCounts(text)).toThrow(message);
  });
});

describe('replicasFromCommandLine', () => {
  it('reads every way npm passes --replicas on', () => {
    // npm start -- --replicas user=2
    expect(replicasFromCommandLine(['--replicas', 'user=2'], {})).toEqual({ user: 2 });
    expect(replicasFromCommandLine(['--replicas=user=2,order=2'], {})).toEqual({ user: 2, order: 2 });
    // npm start --replicas=user=2
    expect(replicasFromCommandLine([], { npm_config_replicas: 'user=3' })).toEqual({ user: 3 });
    // npm start --replicas user=2
    expect(replicasFromCommandLine(['user=2'], { npm_config_replicas: 'true' })).toEqual({ user: 2 });
    expect(replicasFromCommandLine([], {})).toEqual({});
  });

  it('names the source of a bad value, a missing value and an unknown argument', () => {
    expect(() => replicasFromCommandLine([], { npm_config_replicas: 'user=99' })).toThrow('npm_config_replicas="user=99": "user=99": the count must be a whole number from 1 to 16');
    expect(() => replicasFromCommandLine(['--replicas'], {})).toThrow('--replicas needs a value');
    expect(() => replicasFromCommandLine([], { npm_config_replicas: 'true' })).toThrow('--replicas needs a value');
    expect(() => replicasFromCommandLine(['--scale', 'user=2'], {})).toThrow('unknown argument "--scale"');
    expect(() => replicasFromCommandLine(['user=2'], {})).toThrow('unknown argument "user=2"');
  });
});
