import pg from 'pg';
import { namedStatements } from './postgres-named-statements';
import { openPostgresPipeline, PIPELINE_DEPTH, PIPELINE_STALL_MS, type PipelineLimits, type PostgresPipeline } from './postgres-pipeline';
import { createScratchStorage, type ScratchStorage } from './scratch-storage';
import { isUniqueViolation } from './unique-violation';

describe('PostgreSQL pipeline', () => {
  let scratch: ScratchStorage;
  let admin: pg.Client;
  let pipeline: PostgresPipeline;
  let errors: Error[];

  beforeEach(async () => {
    scratch = await createScratchStorage('postgres', 'storage_pipeline');
    admin = new pg.Client({ connectionString: scratch.databaseUrl });
    await admin.connect();
    await admin.query('create table widgets (id text primary key, size integer not null)');
    await admin.query("insert into widgets select 'w' || n, n from generate_series(1, 100) as n");
    errors = [];
    // A loaded machine can pause this process for longer than the stall time between two statements
    // sent together; only the test of the stall itself runs with the default.
    pipeline = open({ stallMs: 60_000 });
  });
  const open = (limits?: PipelineLimits) =>
    openPostgresPipeline({ connectionString: scratch.databaseUrl, statement_timeout: 2000 }, namedStatements(), (error) => errors.push(error), limits);
  afterEach(async () => {
    await pipeline.close();
    await admin.end();
    await scratch.dispose();
  });

  // The first statement starts the connection and goes to the pool; this waits until the pipeline
  // answers one (on a connection that just broke, statements fail until pg has noticed).
  const connected = async () => {
    for (const started = Date.now(); Date.now() - started < 5000; ) {
      const piped = pipeline.run('select 1 as one', []);
      if (piped && (await piped.then(() => true, () => false))) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the pipeline did not connect');
  };
  const size = (id: string) => pipeline.run('select size from widgets where id = $1', [id]);

  it('answers many statements sent at once, each with its own rows', async () => {
    await connected();
    const ids = Array.from({ length: PIPELINE_DEPTH }, (_, i) => `w${i + 1}`);
    const answers = ids.map(size);
    expect(answers.every((answer) => answer !== undefined)).toBe(true);
    const rows = await Promise.all(answers.map(async (answer) => (await answer!).rows));
    expect(rows).toEqual(ids.map((_, i) => [{ size: i + 1 }]));
  });

  it('fails a statement that fails alone, and answers those around it', async () => {
    await connected();
    const insert = (id: string) => pipeline.run('insert into widgets (id, size) values ($1, 1)', [id])!;
    const outcomes = await Promise.allSettled([insert('n1'), insert('w5'), insert('n2'), size('w7')!]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(isUniqueViolation((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
    expect((await admin.query("select count(*)::int as n from widgets where id in ('n1', 'n2')")).rows).toEqual([{ n: 2 }]);
  });

  it('takes no statement while one has run for the stall time or the pipeline is full', async () => {
    await pipeline.close();
    pipeline = open();
    await connected();
    const slow = pipeline.run('select pg_sleep(0.5)', [])!;
    await new Promise((resolve) => setTimeout(resolve, PIPELINE_STALL_MS + 10));
    expect(size('w1')).toBeUndefined();
    await slow;
    const fast = size('w1');
    expect(fast).toBeDefined();
    await fast;

    const full = Array.from({ length: PIPELINE_DEPTH }, () => pipeline.run('select pg_sleep(0.01)', [])!);
    expect(size('w1')).toBeUndefined();
    await Promise.all(full);
    expect(size('w1')).toBeDefined();
  });

  it('fails the statements of a connection that breaks, and connects again', async () => {
    await connected();
    const { rows } = await pipeline.run('select pg_backend_pid() as pid', [])!;
    const sleeping = pipeline.run('select pg_sleep(5)', [])!.catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await admin.query('select pg_terminate_backend($1)', [rows[0].pid]);
    expect(await sleeping).toBeInstanceOf(Error);
    await connected();
    expect((await size('w3'))!.rows).toEqual([{ size: 3 }]);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('answers the statements in flight when closed, then ends its connection', async () => {
    await connected();
    const { rows } = await pipeline.run('select pg_backend_pid() as pid', [])!;
    const answer = size('w2')!;
    await pipeline.close();
    expect((await answer).rows).toEqual([{ size: 2 }]);
    expect(size('w2')).toBeUndefined();
    // The server notices the closed socket a moment later.
    let left = 1;
    for (const started = Date.now(); left > 0 && Date.now() - started < 5000; await new Promise((resolve) => setTimeout(resolve, 20))) {
      left = (await admin.query('select count(*)::int as n from pg_stat_activity where pid = $1', [rows[0].pid])).rows[0].n;
    }
    expect(left).toBe(0);
  });
});
