import type { EventListener, MigrationEvent } from '../../src/migrate/runner/run.js';
import type { Step } from '../../src/migrate/runner/plan.js';
import { printEvent } from './format/migrate.js';
import { interruptOnSignals } from './signals.js';
import type { Output } from './cli.js';

function whileRunning(step: Step): string {
  return `migration ${step.version} (${step.script.fileName}) was running: in a transaction, the server rolls it back when this connection closes and the database stays at version ${step.fromVersion ?? 'none'}; outside one, the database is left dirty; see task migrate:status`;
}

/**
 * For the commands that run migrations: SIGINT/SIGTERM cancel the running
 * migration on the server, and the events (printed unless `quiet`) keep
 * track of which one runs, for what a second signal says before it exits.
 */
export function interruptibleRun(out: Output, print: boolean): { signal: AbortSignal; onEvent: EventListener } {
  const interrupts = interruptOnSignals(out, { stopping: 'cancelling the running migration on the server' });
  let running: Step | undefined;
  interrupts.onSecond(() => (running ? whileRunning(running) : undefined));
  const onEvent = (event: MigrationEvent) => {
    if (event.type === 'migrating') running = event.step;
    else if (event.type === 'migrated') running = undefined;
    if (print) printEvent(out, event);
  };
  return { signal: interrupts.signal, onEvent };
}
