import { describe, expect, it } from 'vitest';
import { findIgnores, parseScript, shorten, skipBlank } from './parse.js';

describe('parseScript', () => {
  it('places each statement at its first word, past comments, counting columns in characters', async () => {
    const sql = "-- héader\nSET lock_timeout = '5s'; /* ünïcode */ CREATE TABLE a (id int);\n\n  /* a /* nested */ comment */\n  DROP TABLE b";
    const { statements, error } = await parseScript(sql);
    expect(error).toBeUndefined();
    expect(statements.map((s) => [s.kind, s.line, s.column, s.text])).toEqual([
      ['VariableSetStmt', 2, 1, "SET lock_timeout = '5s'"],
      ['CreateStmt', 2, 40, 'CREATE TABLE a (id int)'],
      ['DropStmt', 5, 3, 'DROP TABLE b'],
    ]);
  });

  it('a syntax error is placed at the parser\'s cursor', async () => {
    const { statements, error } = await parseScript('SELECT 1;\nSELECT 2;\nALTER TABLE t ADD COLUMN;\n');
    expect(statements).toEqual([]);
    expect(error).toMatchObject({ line: 3, column: 25 });
    expect(error!.message).toMatch(/syntax error/);
  });
});

describe('findIgnores', () => {
  it('reads the rule and the reason; either may be missing', () => {
    expect(findIgnores('SELECT 1;\n  --  tidemark:lint-ignore truncate  the table is empty  \n-- tidemark:lint-ignore drop-table\n-- tidemark:lint-ignore\n-- tidemark:lint-ignored x y')).toEqual([
      { line: 2, rule: 'truncate', reason: 'the table is empty' },
      { line: 3, rule: 'drop-table', reason: undefined },
      { line: 4, rule: undefined, reason: undefined },
    ]);
  });
});

describe('skipBlank and shorten', () => {
  it('skips whitespace and both kinds of comment; an unclosed block comment runs to the end', () => {
    const bytes = Buffer.from(' -- a\n /* b */ x /* open');
    expect(skipBlank(bytes, 0)).toBe(15);
    expect(skipBlank(bytes, 16)).toBe(bytes.length);
  });

  it('collapses whitespace and cuts long statements', () => {
    expect(shorten('CREATE  INDEX\n  i ON t (a)')).toBe('CREATE INDEX i ON t (a)');
    expect(shorten('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
