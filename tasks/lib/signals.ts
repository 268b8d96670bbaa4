import { constants } from 'node:os';
import type { Output } from './cli.js';

export interface Interrupts {
  /** Aborted on the first SIGINT or SIGTERM, with the signal's name as its reason. */
  signal: AbortSignal;
  /** The exit status for the signal that stopped the run (130 for SIGINT, 143 for SIGTERM), if one did. */
  exitCode(): number | undefined;
  /**
   * What a second signal prints before the process leaves at once: the
   * command's best knowledge of the state it leaves (the latest call wins).
   */
  onSecond(describe: () => string | undefined): void;
}

export interface InterruptOptions {
  /** Print nothing on the first signal (cron's `-q`). */
  quiet?: boolean;
  /** What the first signal starts, e.g. "cancelling the migration on the server". */
  stopping: string;
}

const exitStatus = (signal: NodeJS.Signals) => 128 + constants.signals[signal];

/**
 * SIGINT and SIGTERM ask the command to stop cleanly: the core sees its
 * AbortSignal, cancels what runs on the server and says what state it left.
 * A second signal leaves at once, saying what is known; process 'exit'
 * listeners (temporary files) still run.
 */
export function interruptOnSignals(out: Output, options: InterruptOptions): Interrupts {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let describe: () => string | undefined = () => undefined;
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (received) {
        const state = describe();
        out.warn(`${name} again: exiting now${state ? `; ${state}` : ''}`);
        process.exit(exitStatus(name));
      }
      received = name;
      if (!options.quiet) out.warn(`${name}: ${options.stopping} (send it again to exit at once)`);
      controller.abort(name);
    });
  }
  return {
    signal: controller.signal,
    exitCode: () => (received ? exitStatus(received) : undefined),
    onSecond: (fn) => {
      describe = fn;
    },
  };
}

/**
 * For backfills: SIGINT and SIGTERM ask for a clean stop after the batch in
 * flight; a second one leaves at once (the server rolls the open batch back).
 */
export function stopOnSignals(out: Output, quiet: boolean): Pick<Interrupts, 'signal' | 'exitCode'> {
  const interrupts = interruptOnSignals(out, { quiet, stopping: 'stopping after the batch in flight' });
  interrupts.onSecond(() => 'the server rolls the open batch back');
  return interrupts;
}
