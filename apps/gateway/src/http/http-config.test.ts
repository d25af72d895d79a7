import { ConfigError } from '@switchyard/runtime';
import { DEFAULT_BODY_LIMIT_BYTES, loadHttpConfig } from './http-config';

describe('loadHttpConfig', () => {
  it('defaults to every interface on port 8080 with a 64 KiB body limit', () => {
    expect(loadHttpConfig({})).toEqual({ host: '0.0.0.0', port: 8080, bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES });
    expect(DEFAULT_BODY_LIMIT_BYTES).toBe(65536);
  });

  it('reads HTTP_HOST, HTTP_PORT (0 picks a free port) and HTTP_BODY_LIMIT_BYTES', () => {
    expect(loadHttpConfig({ HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', HTTP_BODY_LIMIT_BYTES: '1048576' })).toEqual({ host: '127.0.0.1', port: 0, bodyLimitBytes: 1048576 });
  });

  it('refuses bad values, naming each variable and what it expects', () => {
    const attempt = () => loadHttpConfig({ HTTP_PORT: '80800', HTTP_BODY_LIMIT_BYTES: '10' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/HTTP_PORT="80800": expected a port from 0 to 65535/);
    expect(attempt).toThrow(/HTTP_BODY_LIMIT_BYTES="10": expected at least 1024 bytes/);
  });
});
