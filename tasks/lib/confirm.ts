/**
 * Confirmation of a destructive step (backup:restore over a database,
 * migrate:down --all): --yes, an answer on a terminal, or, under go-task,
 * go-task's prompt.
 */
import { TidemarkError } from '../../src/errors.js';
import { importExternal } from '../../src/import-external.js';

/**
 * Under go-task, the Taskfile first runs a destructive target with
 * TIDEMARK_CONFIRM=question: the command goes as far as its confirmation and
 * prints the question it would ask (nothing when it needs none), changing
 * nothing. go-task then asks it as the task's `prompt:`, which `task --yes`
 * answers, and runs the command with --yes: the user is asked once, by go-task.
 */
export function askingQuestion(): boolean {
  return process.env.TIDEMARK_CONFIRM === 'question';
}

/** Thrown at the confirmation in question mode, to stop the command there. */
export class Question {
  constructor(readonly text = '') {}
}

/**
 * Whether a destructive step may go ahead: `question` is what it does, or
 * undefined when this run destroys nothing. Yes with --yes; otherwise asked
 * on a terminal, where a no is CANCELLED; in cron and CI (no TTY) the answer
 * is no, and the core refuses with CONFIRMATION_REQUIRED.
 */
export async function confirm(question: string | undefined, yes: boolean): Promise<boolean> {
  if (askingQuestion()) throw new Question(yes ? '' : question);
  if (yes || !question) return yes;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const { createInterface } = await importExternal<typeof import('node:readline/promises')>('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (/^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())) return true;
  } finally {
    rl.close();
  }
  throw new TidemarkError('CANCELLED', 'cancelled', { operation: 'ask for confirmation', cause: 'the answer was no; nothing was changed' });
}
