import { describe, expect, it } from 'vitest';
import { staticTypeChangeRewrites, typeChangeRewrites, typmodOf } from './type-change.js';

const VARCHAR = 1043;
const TEXT = 25;
const NUMERIC = 1700;

describe('typmodOf', () => {
  it('computes atttypmod as PostgreSQL stores it', () => {
    expect(typmodOf('varchar', [20])).toBe(24);
    expect(typmodOf('numeric', [10, 2])).toBe((10 << 16 | 2) + 4);
    expect(typmodOf('numeric', [10])).toBe((10 << 16) + 4);
    expect(typmodOf('timestamptz', [3])).toBe(3);
    expect(typmodOf('int8', undefined)).toBe(-1);
  });
});

describe('typeChangeRewrites', () => {
  const varchar = (n: number | undefined) => ({ oid: VARCHAR, name: 'varchar', typmod: n === undefined ? -1 : n + 4 });
  const numeric = (p: number, s: number) => ({ oid: NUMERIC, name: 'numeric', typmod: typmodOf('numeric', [p, s]) });

  it('a longer or unlimited varchar keeps the bytes; a shorter one rewrites', () => {
    expect(typeChangeRewrites(varchar(20), varchar(40), undefined)).toBe('no');
    expect(typeChangeRewrites(varchar(20), varchar(undefined), undefined)).toBe('no');
    expect(typeChangeRewrites(varchar(20), varchar(10), undefined)).toBe('yes');
    expect(typeChangeRewrites(varchar(undefined), varchar(10), undefined)).toBe('yes');
  });

  it('numeric: more precision at the same scale keeps the bytes; another scale rewrites', () => {
    expect(typeChangeRewrites(numeric(10, 2), numeric(12, 2), undefined)).toBe('no');
    expect(typeChangeRewrites(numeric(10, 2), numeric(12, 3), undefined)).toBe('yes');
    expect(typeChangeRewrites(numeric(10, 2), { oid: NUMERIC, name: 'numeric', typmod: -1 }, undefined)).toBe('no');
  });

  it('another type: a binary cast without a new modifier keeps the bytes', () => {
    expect(typeChangeRewrites(varchar(20), { oid: TEXT, name: 'text', typmod: -1 }, 'b')).toBe('no');
    expect(typeChangeRewrites({ oid: TEXT, name: 'text', typmod: -1 }, varchar(20), 'b')).toBe('yes');
    expect(typeChangeRewrites({ oid: 23, name: 'int4', typmod: -1 }, { oid: 20, name: 'int8', typmod: -1 }, 'f')).toBe('yes');
    expect(typeChangeRewrites({ oid: 1114, name: 'timestamp', typmod: -1 }, { oid: 1184, name: 'timestamptz', typmod: -1 }, 'f')).toBe('maybe');
  });

  it('without the catalog, only targets that some types reach without a rewrite are a maybe', () => {
    expect(staticTypeChangeRewrites('text')).toBe('maybe');
    expect(staticTypeChangeRewrites('int8')).toBe('yes');
  });
});
