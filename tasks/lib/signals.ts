import { constants } from 'node:os';
import { out } from './cli.js';

export interface StopSwitch {
  signal: AbortSignal;
  /** The exit status for the signal that stopped the run (130 for SIGINT, 143 for SIGTERM), if one did. */
  exitCode(): number | undefined;
}

/**
 * SIGINT and SIGTERM ask for a clean stop after the batch in flight; a
 * second one leaves at once (the server rolls the open batch back).
 */
export function stopOnSignals(quiet: boolean): StopSwitch {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const code = (signal: NodeJS.Signals) => 128 + constants.signals[signal];
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (received) process.exit(code(name));
      received = name;
      controller.abort();
      if (!quiet) out.warn(`${name}: stopping after the batch in flight (send it again to stop at once)`);
    });
  }
  return { signal: controller.signal, exitCode: () => (received ? code(received) : undefined) };
}
