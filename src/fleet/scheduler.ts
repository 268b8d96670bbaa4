/**
 * Which target runs when: the canaries one at a time first, then the rest
 * with up to `parallel` at once. After a failure under `stop` (or of a
 * canary) and after SIGINT/SIGTERM no new target starts. Knows nothing of
 * what a target run does: it hands each one the signals that stop it.
 */

export type OnError = 'stop' | 'continue';

export interface ScheduleOptions {
  /** Targets run at a time. */
  parallel: number;
  onError: OnError;
  /** The first K targets run one at a time before any other; a failure among them stops the run. */
  canary: number;
  /** SIGINT/SIGTERM: running targets are cancelled, none starts. */
  signal?: AbortSignal;
}

/** What a running target is told. */
export interface TargetControl {
  /** Aborted by SIGINT/SIGTERM (its reason names the signal): cancel what runs on the server. */
  signal: AbortSignal;
  /** Aborted when another target failed under `stop`: finish the migration under way, start no other. */
  stop: AbortSignal;
}

export interface ScheduleOutcome {
  /** Indexes of the targets that began, in the order they began. */
  started: number[];
  /** Why targets were left unstarted, when some were. */
  haltedBy?: string;
}

/** A signal aborted with its parent (and its reason), until disposed of. */
function linked(parent: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort(parent.reason);
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  return { signal: controller.signal, dispose: () => parent.removeEventListener('abort', abort) };
}

/**
 * Runs `runOne` (which never throws: it returns whether the target failed)
 * over indexes 0..count-1 under the options.
 */
export async function schedule(count: number, runOne: (index: number, control: TargetControl) => Promise<{ failed: boolean }>, options: ScheduleOptions): Promise<ScheduleOutcome> {
  const stopping = new AbortController();
  const signal = options.signal ?? new AbortController().signal;
  const started: number[] = [];
  let haltedBy: string | undefined;
  let next = 0;
  const halt = (why: string) => {
    haltedBy ??= why;
    stopping.abort('stop');
  };
  const canStart = () => next < count && !haltedBy && !signal.aborted;
  const runIndex = async (index: number, canary: boolean) => {
    started.push(index);
    // Each target listens to signals of its own: hundreds of targets must not pile listeners on the run's.
    const [interrupt, stop] = [linked(signal), linked(stopping.signal)];
    const { failed } = await runOne(index, { signal: interrupt.signal, stop: stop.signal }).finally(() => {
      interrupt.dispose();
      stop.dispose();
    });
    if (failed && canary) halt(`canary target ${index + 1} failed`);
    else if (failed && options.onError === 'stop') halt(`target ${index + 1} failed (--on-error stop)`);
  };
  for (const canaries = Math.min(options.canary, count); next < canaries && canStart();) await runIndex(next++, true);
  const worker = async () => {
    while (canStart()) await runIndex(next++, false);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, count)) }, worker));
  if (signal.aborted) haltedBy ??= `${typeof signal.reason === 'string' ? signal.reason : 'an interrupt'} received`;
  return { started, haltedBy: next < count ? haltedBy : undefined };
}
