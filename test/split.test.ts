import { describe, expect, it } from 'vitest';
import { managesOwnTransaction, splitStatements, SqlSyntaxError, wantsNoTransaction } from '../src/sql/split.js';

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
  });
});
