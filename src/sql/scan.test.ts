import { parse } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { transactionControl } from './scan.js';

/** What PostgreSQL's parser says: does a top-level statement control the transaction? */
async function parserSeesTransaction(sql: string): Promise<boolean> {
  const tree = (await parse(sql)) as { stmts?: Array<{ stmt: Record<string, unknown> }> };
  return (tree.stmts ?? []).some((s) => 'TransactionStmt' in s.stmt);
}

const WITHOUT = [
  'CREATE TABLE a (id int);',
  "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'x'; END $$;",
  "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN 1;\nEND;\n$body$;\nSELECT 1;",
  "DO $do$\nBEGIN\n  COMMIT;\nEND\n$do$;",
  "SELECT CASE WHEN true THEN 1 ELSE 2 END;\nSELECT 'begin; commit;' AS text;",
  '-- BEGIN;\nCREATE TABLE b (id int);\n/* COMMIT; /* nested; */ END; */\nSELECT 1;',
  'CREATE TABLE "begin" (id int);\nSELECT "end" FROM "begin";',
  'CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); DELETE FROM b);',
  'SELECT $1::int; EXECUTE q (1);',
  "UPDATE t SET s = 'it''s'; SELECT 1 AS ending;",
  // A separator line of dashes: read in one pass, whatever its length.
  `SELECT 1;\n-- ${'-'.repeat(76)}\nSELECT 2;\n--${'-'.repeat(200)}\n`,
];

const WITH = [
  'PREPARE TRANSACTION \'x\';',
  'BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;',
  'CREATE TABLE a (id int);\ncommit;',
  '/* header */ START TRANSACTION;\nSELECT 1;\nEND;',
  'SELECT 1; -- trailing\n  ROLLBACK;',
  'SAVEPOINT s; RELEASE SAVEPOINT s;',
];

/** Scripts the pass cannot read with certainty: it must say 'maybe', whatever the parser finds. */
const DOUBTFUL = [
  "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
  "SELECT E'\\'; BEGIN; \\'';",
  "SELECT 'unterminated; BEGIN;",
  'SELECT $$ unterminated; END;',
  'SELECT a$b$ FROM t; END;',
];

describe('transactionControl', () => {
  it('is certain there is none where no top-level statement starts with a transaction word', async () => {
    for (const sql of WITHOUT) {
      expect(transactionControl(sql), sql).toBe('none');
      expect(await parserSeesTransaction(sql), sql).toBe(false);
    }
  });
  it('leaves it to the parser where a statement starts with one', async () => {
    for (const sql of WITH) {
      expect(transactionControl(sql), sql).toBe('maybe');
      expect(await parserSeesTransaction(sql), sql).toBe(true);
    }
  });
  it('leaves it to the parser where it cannot read the script with certainty', () => {
    for (const sql of DOUBTFUL) expect(transactionControl(sql), sql).toBe('maybe');
  });
});
