/**
 * PostgreSQL's parser (libpg-query, WebAssembly) is loaded only for the files
 * that need it: statements to split (`-- tidemark:no-transaction`), a
 * possible BEGIN/COMMIT of the file's own, a lock_timeout it sets. Loading
 * it costs tens of milliseconds of CPU, most of it compiling the
 * WebAssembly. When a run has such a file, the load starts as the run
 * starts, so that it proceeds while the server executes the first
 * migrations instead of when that file's turn comes.
 */
import { importExternal } from '../../import-external.js';
import { transactionControl } from '../../sql/scan.js';
import { wantsNoTransaction } from '../../sql/split.js';

const MENTIONS_LOCK_TIMEOUT = /lock_timeout/i;

/** Whether running this file asks the parser anything (see execute.ts and ddl-lock.ts). */
export function needsParser(sql: string): boolean {
  return wantsNoTransaction(sql) || MENTIONS_LOCK_TIMEOUT.test(sql) || transactionControl(sql) === 'maybe';
}

/** Starts loading the parser, without waiting; a failure shows, as before, where the parser is used. */
export function preloadParser(): void {
  importExternal<typeof import('libpg-query')>('libpg-query')
    .then(({ parse }) => parse('SELECT 1'))
    .catch(() => undefined);
}
