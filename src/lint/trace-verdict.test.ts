import { describe, expect, it } from 'vitest';
import { judgeFinding, judgeFindings, tableKey } from './trace-verdict.js';
import { lockClaim } from './locks.js';
import type { Finding } from './types.js';
import type { TracedStatement } from './trace.js';

const finding = (over: Partial<Finding> = {}): Finding => ({
  rule: 'index-not-concurrent', severity: 'error', file: 'm/2.up.sql', line: 3, column: 1, statement: 'CREATE INDEX i ON orders (a)',
  message: 'm', safe: 's', size: 'small', table: 'orders', lock: lockClaim('SHARE', 'orders'), rewrite: 'no', scan: 'yes', ...over,
});
const traced = (over: Partial<TracedStatement> = {}): TracedStatement => ({
  file: 'm/2.up.sql', line: 3, column: 1, locksSeen: true, locks: { orders: 'SHARE' }, rewritten: [], scanned: ['orders'], validated: [], indexes: {}, ...over,
});

describe('a finding held against its trace', () => {
  it('agrees when the server did what the rule claims', () => {
    expect(judgeFinding(finding(), traced()).trace).toEqual({ lock: 'SHARE', rewrite: false, scan: true, differences: [] });
  });
  it('the trace wins where it disagrees, and says what it contradicted', () => {
    const judged = judgeFinding(finding(), traced({ locks: { 'public.orders': 'ACCESS EXCLUSIVE' }, rewritten: ['orders'] }));
    expect(judged.trace!.differences).toEqual([
      'lock: the lint claimed SHARE, the trace saw ACCESS EXCLUSIVE on orders',
      'rewrite: the lint claimed no, the trace saw yes',
    ]);
    expect(judged.lock).toEqual(lockClaim('ACCESS EXCLUSIVE', 'orders'));
    expect(judged.rewrite).toBe('yes');
  });
  it('a maybe is settled, not contradicted', () => {
    const judged = judgeFinding(finding({ rewrite: 'maybe', scan: 'maybe' }), traced());
    expect(judged.trace!.differences).toEqual([]);
    expect([judged.rewrite, judged.scan]).toEqual(['no', 'yes']);
  });
  it('outside a transaction the locks and scans are not read: only the rewrite is judged', () => {
    const judged = judgeFinding(finding({ rewrite: 'yes' }), traced({ locksSeen: false, locks: {}, scanned: [] }));
    expect(judged.trace).toEqual({ lock: undefined, rewrite: false, scan: undefined, differences: ['rewrite: the lint claimed yes, the trace saw no'] });
    expect(judged.lock).toEqual(lockClaim('SHARE', 'orders'));
  });
  it('an index named by the claim stands for its table; two tables must both hold the lock', () => {
    const reindex = finding({ lock: lockClaim('SHARE', 'orders_a'), table: 'orders_a' });
    expect(judgeFinding(reindex, traced({ indexes: { orders_a: 'orders' } })).trace!.differences).toEqual([]);
    const fk = finding({ lock: lockClaim('SHARE ROW EXCLUSIVE', 'orders, users'), table: 'orders' });
    expect(judgeFinding(fk, traced({ locks: { orders: 'SHARE ROW EXCLUSIVE', users: 'SHARE ROW EXCLUSIVE' } })).trace!.differences).toEqual([]);
    expect(judgeFinding(fk, traced({ locks: { orders: 'SHARE ROW EXCLUSIVE' } })).trace!.lock).toBeNull();
  });
  it('a failed statement is reported as such; findings are matched by file, line and column', () => {
    const [hit, miss] = judgeFindings([finding(), finding({ line: 9 })], [traced({ error: 'relation "orders" does not exist' })]);
    expect(hit.trace).toEqual({ differences: [], error: 'relation "orders" does not exist' });
    expect(miss).not.toHaveProperty('trace');
  });
  it('names compare as PostgreSQL folds them', () => {
    expect([tableKey('Public.Orders'), tableKey('"Public"."Orders"'), tableKey('app.t')]).toEqual(['orders', 'Public.Orders', 'app.t']);
  });
});
