import { describe, expect, it } from 'vitest';
import { parseServerVersion, splitList } from './config.js';

describe('configuration values', () => {
  it.each([['18', 180000], ['16.4', 160004], ['9.6', 90600], ['9.6.24', 90624], [' 17 ', 170000]])('version %s is %i', (text, num) => {
    expect(parseServerVersion(text, 'x').num).toBe(num);
  });
  it.each(['', 'x', '16.4.1', '18beta', '100'])('refuses version %j', (text) => {
    expect(() => parseServerVersion(text, 'TIDEMARK_MIN_PG_VERSION')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', operation: 'read TIDEMARK_MIN_PG_VERSION' }));
  });
  it('splits extension lists on commas and spaces', () => {
    expect(splitList(' pg_trgm, citext  postgis,')).toEqual(['pg_trgm', 'citext', 'postgis']);
    expect(splitList(undefined)).toEqual([]);
  });
});
