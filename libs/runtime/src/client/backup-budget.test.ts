import { BackupBudget } from './backup-budget';

describe('BackupBudget', () => {
  it('starts with the reserve, earns ratio per call up to the reserve, and spends one per backup', () => {
    const budget = new BackupBudget({ ratio: 0.25, reserve: 2 });
    expect([budget.trySpend(), budget.trySpend(), budget.trySpend()]).toEqual([true, true, false]);
    for (let i = 0; i < 3; i += 1) budget.recordCall();
    expect(budget.trySpend()).toBe(false);
    budget.recordCall();
    expect(budget.trySpend()).toBe(true);
    for (let i = 0; i < 100; i += 1) budget.recordCall();
    expect(budget.tokens).toBe(2);
  });
});
