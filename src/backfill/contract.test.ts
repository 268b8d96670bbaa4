import { describe, expect, it } from 'vitest';
import { asBackfill, batchResultProblem, countValue } from './contract.js';

describe('backfill contract', () => {
  it('accepts named exports or a default object, and names every missing part', () => {
    const batch = async () => ({ rows: 0, next: null });
    const count = async () => 0;
    expect(asBackfill({ description: ' d ', count, batch }, 'n', 'f').description).toBe('d');
    expect(asBackfill({ default: { description: 'd', count, batch, scopeKeys: ['k'] } }, 'n', 'f').scopeKeys).toEqual(['k']);
    expect(() => asBackfill({ description: '', scopeKeys: 'k' }, 'n', 'f.ts')).toThrow(expect.objectContaining({
      code: 'BACKFILL_INVALID',
      reason: '`description` must be a non-empty string; `count(ctx)` must be an exported function; `batch(ctx, cursor)` must be an exported function; `scopeKeys`, when given, must be an array of names',
    }));
  });
  it('checks what batch() and count() return', () => {
    expect(batchResultProblem({ rows: 10, next: '10' }, '0')).toBeUndefined();
    expect(batchResultProblem({ rows: '10', next: null }, '0')).toBeUndefined();
    expect(batchResultProblem({ rows: 1, next: [5, 'b'] }, [5, 'a'])).toBeUndefined();
    expect(batchResultProblem(undefined, null)).toBe('batch() must return { rows, next }');
    expect(batchResultProblem({ rows: -1, next: null }, null)).toMatch(/rows = -1/);
    expect(batchResultProblem({ rows: 1 }, null)).toMatch(/no `next`/);
    expect(batchResultProblem({ rows: 1, next: 5n }, null)).toMatch(/not JSON/);
    expect(batchResultProblem({ rows: 0, next: { id: 3 } }, { id: 3 })).toMatch(/the cursor it was given/);
    expect([countValue(3), countValue('42'), countValue(7n), countValue(-1), countValue(1.5), countValue('x')]).toEqual([3, 42, 7, undefined, undefined, undefined]);
  });
});
