import { describe, expect, it } from 'vitest';
import { jsonValue } from './query.js';

describe('query values as JSON', () => {
  it('keeps what JSON can hold exactly, the rest as text', () => {
    expect([jsonValue('t', 16), jsonValue('42', 23), jsonValue('1.5', 701), jsonValue('NaN', 701), jsonValue('9007199254740993', 20), jsonValue('{"a":1}', 3802), jsonValue(null, 23)])
      .toEqual([true, 42, 1.5, 'NaN', '9007199254740993', { a: 1 }, null]);
  });
});
