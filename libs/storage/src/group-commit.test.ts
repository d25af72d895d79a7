import { groupCommit } from './group-commit';

// An applier that records what it was given; items named 'bad' fail any batch they are in, and alone.
function recordingAppliers() {
  const calls: Array<{ batch: string[] } | { one: string }> = [];
  const applyBatch = async (items: readonly string[]) => {
    calls.push({ batch: [...items] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (items.includes('bad')) throw new Error('batch rolled back');
    return items.map((item) => `batch:${item}`);
  };
  const applyOne = async (item: string) => {
    calls.push({ one: item });
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (item === 'bad') throw new Error('bad item');
    return `one:${item}`;
  };
  return { calls, applyBatch, applyOne };
}

describe('groupCommit', () => {
  it('applies a lone call by itself', async () => {
    const { calls, applyBatch, applyOne } = recordingAppliers();
    const apply = groupCommit(applyBatch, applyOne);
    expect(await apply('a')).toBe('one:a');
    expect(calls).toEqual([{ one: 'a' }]);
  });

  it('puts the calls of one turn in one batch, and those made while it runs in the next', async () => {
    const { calls, applyBatch, applyOne } = recordingAppliers();
    const apply = groupCommit(applyBatch, applyOne);
    const first = ['a', 'b', 'c'].map(apply);
    // Made once the first batch is under way.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = ['d', 'e'].map(apply);
    expect(await Promise.all([...first, ...second])).toEqual(['batch:a', 'batch:b', 'batch:c', 'batch:d', 'batch:e']);
    expect(calls).toEqual([{ batch: ['a', 'b', 'c'] }, { batch: ['d', 'e'] }]);
  });

  it('applies each item of a failed batch alone, so only the bad one fails', async () => {
    const { calls, applyBatch, applyOne } = recordingAppliers();
    const apply = groupCommit(applyBatch, applyOne);
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map(apply));
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'one:a' },
      { status: 'rejected', reason: new Error('bad item') },
      { status: 'fulfilled', value: 'one:c' },
    ]);
    expect(calls[0]).toEqual({ batch: ['a', 'bad', 'c'] });
    expect(calls.slice(1)).toEqual(expect.arrayContaining([{ one: 'a' }, { one: 'bad' }, { one: 'c' }]));
    // The group goes on batching afterwards.
    expect(await Promise.all(['x', 'y'].map(apply))).toEqual(['batch:x', 'batch:y']);
  });

  it('takes at most maxBatch items in a batch', async () => {
    const { calls, applyBatch, applyOne } = recordingAppliers();
    const apply = groupCommit(applyBatch, applyOne, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map(apply));
    expect(calls).toEqual([{ batch: ['a', 'b'] }, { batch: ['c', 'd'] }, { one: 'e' }]);
  });

  it('fails the calls of a batch whose applier answers the wrong number of outcomes, and applies none alone', async () => {
    const calls: string[] = [];
    const apply = groupCommit(
      async (items: readonly string[]) => items.slice(1),
      async (item: string) => {
        calls.push(item);
        return item;
      },
    );
    const outcomes = await Promise.allSettled(['a', 'b'].map(apply));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason.message).toMatch(/answered 1 outcomes for 2 items/);
    expect(calls).toEqual([]);
  });
});
