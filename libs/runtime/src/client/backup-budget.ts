export interface BackupBudgetOptions {
  /** Backups allowed per call, over time: 0.1 lets a dead target see at most 10% more attempts. Default 0.1. */
  ratio: number;
  /** Backups allowed at once on top (the bucket's size, full at start), for a burst of stalled calls. Default 50. */
  reserve: number;
}

export const DEFAULT_BACKUP_BUDGET: BackupBudgetOptions = Object.freeze({ ratio: 0.1, reserve: 50 });

/**
 * The backup attempts one target may get (Finagle's retry budget): every call earns `ratio` of a
 * backup, up to `reserve`, and every backup spends one. While one instance of several hangs,
 * only the calls that reach it need a backup and the reserve covers them; when every instance
 * hangs, every call would want one, and the budget holds the extra load to `ratio`.
 */
export class BackupBudget {
  // In thousandths, so repeated deposits of 0.1 do not drift.
  private readonly max: number;
  private readonly deposit: number;
  private milliTokens: number;

  constructor({ ratio, reserve }: BackupBudgetOptions = DEFAULT_BACKUP_BUDGET) {
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`backup budget: ratio must be in [0, 1], got ${ratio}`);
    if (!(reserve >= 1)) throw new RangeError(`backup budget: reserve must be >= 1, got ${reserve}`);
    this.max = Math.round(reserve * 1000);
    this.deposit = Math.round(ratio * 1000);
    this.milliTokens = this.max;
  }

  /** Backups that may be sent now. */
  get tokens(): number {
    return this.milliTokens / 1000;
  }

  /** A call started. */
  recordCall(): void {
    this.milliTokens = Math.min(this.max, this.milliTokens + this.deposit);
  }

  /** Takes one backup from the budget if there is one left. */
  trySpend(): boolean {
    if (this.milliTokens < 1000) return false;
    this.milliTokens -= 1000;
    return true;
  }
}
