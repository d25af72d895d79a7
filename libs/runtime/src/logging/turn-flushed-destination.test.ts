import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

// The destination runs in a child process that writes to a real pipe and ends as the test says:
// the lines must come out whole, in order, however it ends.
const dir = mkdtempSync(join(tmpdir(), 'turn-flushed-'));
const script = join(dir, 'child.js');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const entry = join(dir, 'child.ts');
  writeFileSync(
    entry,
    `import pino from 'pino';
import { turnFlushedDestination } from ${JSON.stringify(join(__dirname, 'turn-flushed-destination'))};
const logger = pino({ base: undefined, timestamp: false }, turnFlushedDestination());
const [ending, turns, perTurn] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let turn = 0;
const next = () => {
  for (let i = 0; i < perTurn; i++) logger.info({ turn, i, pad: 'x'.repeat(100) }, 'line');
  turn += 1;
  if (turn < turns) return void setTimeout(next, 1);
  if (ending === 'exit') process.exit(0);
  if (ending === 'throw') throw new Error('boom');
  // After a turn has ended: the lines of every finished turn are out, then SIGKILL.
  setTimeout(() => process.stdout.write('', () => console.error('READY')), 5);
};
next();
`,
  );
  await build({ entryPoints: [entry], bundle: true, platform: 'node', outfile: script, logLevel: 'error', external: ['pino'], nodePaths: [join(__dirname, '..', '..', '..', '..', 'node_modules')] });
});

function run(ending: 'exit' | 'throw' | 'kill', turns: number, perTurn: number): Promise<{ lines: Array<{ turn: number; i: number }>; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ending, String(turns), String(perTurn)], { env: { ...process.env, NODE_PATH: join(__dirname, '..', '..', '..', '..', 'node_modules') } });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) child.kill('SIGKILL');
    });
    child.on('close', (code) => resolve({ lines: out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { turn: number; i: number }), code }));
  });
}

const expected = (turns: number, perTurn: number) => Array.from({ length: turns * perTurn }, (_, n) => ({ turn: Math.floor(n / perTurn), i: n % perTurn }));
const positions = (lines: Array<{ turn: number; i: number }>) => lines.map(({ turn, i }) => ({ turn, i }));

describe('turnFlushedDestination', () => {
  it('writes every line, in order, by the time the process exits', async () => {
    // 200 lines of ~150 bytes a turn: more than is held at once, so bursts are written mid-turn too.
    const { lines, code } = await run('exit', 20, 200);
    expect(code).toBe(0);
    expect(positions(lines)).toEqual(expected(20, 200));
  });

  it('writes the lines logged before an uncaught exception ends the process', async () => {
    const { lines, code } = await run('throw', 5, 10);
    expect(code).toBe(1);
    expect(positions(lines)).toEqual(expected(5, 10));
  });

  it('has written the lines of every finished turn when the process is SIGKILLed', async () => {
    const { lines } = await run('kill', 10, 10);
    expect(positions(lines)).toEqual(expected(10, 10));
  });
});
