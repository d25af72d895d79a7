import { resolve } from 'node:path';
import { findGrpcurl, grpcurlCandidates, runGrpcurl } from './grpcurl';

const saved = process.env.GRPCURL;
afterEach(() => {
  if (saved === undefined) delete process.env.GRPCURL;
  else process.env.GRPCURL = saved;
});

it('looks at $GRPCURL first, then ../shared/tools/grpcurl beside the workspace root', () => {
  process.env.GRPCURL = process.execPath; // any executable stands in
  expect(grpcurlCandidates()).toEqual([process.execPath, resolve(__dirname, '..', '..', '..', '..', 'shared', 'tools', 'grpcurl')]);
  expect(findGrpcurl()).toBe(process.execPath);
});

it('skips a $GRPCURL that is not there', () => {
  process.env.GRPCURL = '/nonexistent/grpcurl';
  expect(findGrpcurl()).not.toBe('/nonexistent/grpcurl');
});

it('runs grpcurl and reports its output and exit code', async () => {
  delete process.env.GRPCURL;
  if (!findGrpcurl()) {
    console.log(`skipped: grpcurl not found at ${grpcurlCandidates().join(' or ')}`);
    return;
  }
  const version = await runGrpcurl(['-version']);
  expect(version.code).toBe(0);
  expect(`${version.stdout}${version.stderr}`).toMatch(/grpcurl v?\d+\.\d+/);
  expect((await runGrpcurl(['-no-such-flag'])).code).not.toBe(0);
});
