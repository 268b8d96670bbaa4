import { describe, expect, it } from 'vitest';
import { managesOwnTransaction, splitStatements, SqlSyntaxError, wantsNoTransaction } from './split.js';

describe('splitStatements', () => {
  it('keeps dollar-quoted bodies, strings, comments and BEGIN ATOMIC whole', async () => {
    const sql = [
      '-- a comment; with a semicolon',
      'CREATE INDEX CONCURRENTLY i ON t (a); /* block; comment */',
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;",
      'CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;',
      "INSERT INTO t VALUES ('a;b'), (E'\\';x'), ('é;');",
      'SELECT 1',
    ].join('\n');
    const statements = await splitStatements(sql);
    expect(statements.map((s) => s.line)).toEqual([2, 3, 4, 5, 6]);
    expect(statements[1].text).toBe('CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$');
    expect(statements[2].text).toContain('SELECT 1; SELECT 2; END');
    expect(statements[3].text).toBe("INSERT INTO t VALUES ('a;b'), (E'\\';x'), ('é;')");
    expect(statements[4].text).toBe('SELECT 1');
  });
  it('reports a syntax error with its line', async () => {
    const err = await splitStatements('SELECT 1;\n\nSELEC 2;').catch((e) => e);
    expect(err).toBeInstanceOf(SqlSyntaxError);
    expect(err.line).toBe(3);
  });
});

describe('transaction detection', () => {
  it('sees BEGIN/COMMIT at top level, not inside function bodies', async () => {
    expect(await managesOwnTransaction('BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;')).toBe(true);
    expect(await managesOwnTransaction("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$;")).toBe(false);
    expect(await managesOwnTransaction('CREATE TABLE a (id int);')).toBe(false);
  });
  it('reads the no-transaction marker on the first line only', () => {
    expect(wantsNoTransaction('-- tidemark:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);')).toBe(true);
    expect(wantsNoTransaction('SELECT 1;\n-- tidemark:no-transaction')).toBe(false);
    expect(wantsNoTransaction('\uFEFF  --\ttidemark:no-transaction\r\nCREATE INDEX CONCURRENTLY i ON t (a);')).toBe(true);
    expect(wantsNoTransaction('\n-- tidemark:no-transaction')).toBe(false);
    expect(wantsNoTransaction('--\ntidemark:no-transaction')).toBe(false);
    expect(wantsNoTransaction('-- tidemark:no-transactions')).toBe(false);
  });
});

/** Statements that each hide semicolons at line ends where a chunk of a large file may be cut. */
const TRICKY: ((i: number) => string)[] = [
  (i) => `INSERT INTO t VALUES (${i}, 'a;\nb', E'\\';\nx')`,
  (i) => `CREATE FUNCTION f${i}() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN ${i};\nEND;\n$body$`,
  (i) => `CREATE FUNCTION g${i}() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT ${i};\n  SELECT 2;\nEND`,
  (i) => `SELECT ${i} /* a comment;\nover lines; */ + 1`,
  (i) => `SELECT ${i} -- a trailing comment;\n  + 2`,
  (i) => `UPDATE t SET note = 'é😀;' WHERE id = ${i}`,
];

/** A script of `count` statements, with what splitStatements should find: each text and its line. */
function largeScript(count: number): { sql: string; expected: { text: string; line: number }[] } {
  const parts: string[] = [];
  const expected: { text: string; line: number }[] = [];
  let line = 1;
  const add = (text: string) => {
    parts.push(text);
    line += text.split('\n').length - 1;
  };
  for (let i = 0; i < count; i++) {
    const text = i === Math.floor(count / 2)
      // One statement several chunks long: its body is full of line-ending semicolons.
      ? `CREATE FUNCTION big() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n${'  PERFORM 1;\n'.repeat(60_000)}END\n$$`
      : TRICKY[i % TRICKY.length](i);
    if (i % 7 === 0) add('-- between statements;\n\n');
    expected.push({ text, line });
    add(`${text};\n`);
  }
  return { sql: parts.join(''), expected };
}

describe('splitStatements on a large file', () => {
  it('finds every boundary and line of 50,000 statements', async () => {
    const { sql, expected } = largeScript(50_000);
    const statements = await splitStatements(sql);
    expect(statements.length).toBe(expected.length);
    const wrong = statements.findIndex((s, i) => s.text !== expected[i].text || s.line !== expected[i].line);
    expect(wrong === -1 ? undefined : { index: wrong, got: statements[wrong], expected: expected[wrong] }).toBeUndefined();
  });
  it('reports the line of a syntax error far into a large file', async () => {
    const { sql, expected } = largeScript(30_000);
    const broken = `${sql}SELEC 2;\n${sql}`;
    const err = await splitStatements(broken).catch((e) => e);
    expect(err).toBeInstanceOf(SqlSyntaxError);
    expect(err.line).toBe(sql.split('\n').length);
    expect(expected.length).toBe(30_000);
  });
  it('counts the error position in characters, not bytes', async () => {
    const err = await splitStatements(`SELECT '${'😀é'.repeat(20)}';\nSELECT 1;\nSELEC 2;`).catch((e) => e);
    expect(err).toBeInstanceOf(SqlSyntaxError);
    expect(err.line).toBe(3);
  });
});
