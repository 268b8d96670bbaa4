/**
 * A lexical pass over a script, without PostgreSQL's parser: it finds the
 * first word of each top-level statement, skipping comments, quoted strings
 * and identifiers, and dollar-quoted bodies. It exists to spare loading the
 * parser (libpg-query, WebAssembly: tens of milliseconds and tens of
 * megabytes) where the answer is certain without it: a script in which no
 * top-level statement starts with a transaction word cannot hold a
 * TransactionStmt. Anything it does not read with certainty (a backslash in
 * a string, whose meaning depends on standard_conforming_strings; an
 * unterminated quote; BEGIN ATOMIC bodies, whose inner statements end with
 * semicolons) makes it answer 'maybe', and the caller asks the parser.
 */

/** Words that start a transaction control statement (BEGIN, COMMIT, END, ... PREPARE TRANSACTION). */
const TRANSACTION_STARTS = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort', 'savepoint', 'release', 'prepare']);

/** The characters that can change what follows: comments, quotes, dollar quotes, parentheses, statement ends. */
const SPECIAL = /[-/'"$();\\]/g;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const BLANKS = /(?:\s|--[^\n]*)*/y;
// BEGIN ATOMIC ... END: a function body whose statements end with semicolons. Anywhere, even in a comment: then the parser decides.
const ATOMIC = /\batomic\b/i;

// Where a statement may start with a transaction word, whatever the context (a string, a body): a quick
// look that rules most scripts out. It reads blanks and line comments only, so a block comment (which
// may nest) sends the script to the full pass. A line comment is matched to its newline, one way only:
// `--[^\n]*` alone could split a line of dashes into comments in exponentially many ways on a failure.
const CANDIDATE = /(?:^|;)(?:\s|--[^\n]*\n)*(?:begin|start|commit|end|rollback|abort|savepoint|release|prepare)\b/i;

const isWordPart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
const isTagStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;

/** The index just past a dollar-quote opening tag at `i` (`$$`, `$body$`), or -1 when `i` opens none. */
function dollarTagEnd(sql: string, i: number): number {
  let j = i + 1;
  if (j < sql.length && sql.charCodeAt(j) !== 36 && !isTagStart(sql.charCodeAt(j))) return -1;
  while (j < sql.length && sql.charCodeAt(j) !== 36) {
    if (!isWordPart(sql.charCodeAt(j))) return -1;
    j++;
  }
  return j < sql.length ? j + 1 : -1;
}

/** The index past the end of a quoted string or identifier opened at `i`; -1 when it is unterminated or holds a backslash (in a string). */
function quotedEnd(sql: string, i: number, quote: string): number {
  for (let j = sql.indexOf(quote, i + 1); j !== -1; j = sql.indexOf(quote, j + 2)) {
    if (quote === "'" && sql.slice(i, j).includes('\\')) return -1;
    if (sql[j + 1] !== quote) return j + 1;
    i = j + 1;
  }
  return -1;
}

/** The index past a block comment opened at `i` (they nest); -1 when unterminated. */
function blockCommentEnd(sql: string, i: number): number {
  let depth = 0;
  for (let j = i; j < sql.length - 1; j++) {
    if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
      depth++;
      j++;
    } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/** Past the blanks and comments before a statement's first word; -1 for an unterminated comment. */
function skipBlanks(sql: string, i: number): number {
  for (;;) {
    BLANKS.lastIndex = i;
    BLANKS.exec(sql);
    i = BLANKS.lastIndex;
    if (!sql.startsWith('/*', i)) return i;
    i = blockCommentEnd(sql, i);
    if (i === -1) return -1;
  }
}

/** Whether the statement starting at `i` starts with a transaction word; the index past its first word. */
function statementStart(sql: string, from: number): { end: number; transaction: boolean } {
  const i = skipBlanks(sql, from);
  if (i === -1) return { end: -1, transaction: false };
  WORD.lastIndex = i;
  const word = WORD.exec(sql);
  return word ? { end: WORD.lastIndex, transaction: TRANSACTION_STARTS.has(word[0].toLowerCase()) } : { end: i, transaction: false };
}

/**
 * 'none' when no top-level statement of the script starts with a
 * transaction word (certain); 'maybe' when one does, or when the script
 * holds something this pass does not read with certainty. Plain text is
 * skipped by a regular expression to the next character that matters.
 */
export function transactionControl(sql: string): 'none' | 'maybe' {
  if (ATOMIC.test(sql)) return 'maybe';
  if (!sql.includes('/*') && !CANDIDATE.test(sql)) return 'none';
  let depth = 0;
  let i = 0;
  let atStart = true;
  for (;;) {
    if (atStart) {
      const start = statementStart(sql, i);
      if (start.end === -1 || start.transaction) return 'maybe';
      i = start.end;
      atStart = false;
    }
    SPECIAL.lastIndex = i;
    const found = SPECIAL.exec(sql);
    if (!found) return 'none';
    const at = found.index;
    const c = found[0];
    i = at + 1;
    if (c === '-' && sql[at + 1] === '-') {
      const end = sql.indexOf('\n', at);
      if (end === -1) return 'none';
      i = end + 1;
    } else if (c === '/' && sql[at + 1] === '*') {
      i = blockCommentEnd(sql, at);
    } else if (c === "'" || c === '"') {
      i = quotedEnd(sql, at, c);
    } else if (c === '$') {
      // `$` inside a name (a$b) is part of it; `$1` is a parameter.
      if (at > 0 && isWordPart(sql.charCodeAt(at - 1))) return 'maybe';
      const tagEnd = dollarTagEnd(sql, at);
      if (tagEnd !== -1) {
        const close = sql.indexOf(sql.slice(at, tagEnd), tagEnd);
        i = close === -1 ? -1 : close + (tagEnd - at);
      }
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
    } else if (c === ';') {
      atStart = depth === 0;
    } else if (c === '\\') {
      return 'maybe';
    }
    if (i === -1) return 'maybe';
  }
}
