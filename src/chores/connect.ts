import { closeConnection } from '../connection-close.js';
import type pg from 'pg';
import { newClient } from '../db/connect.js';
import type { Settings } from '../config.js';
import { maskSecrets } from '../connection-string.js';
import { describePgError, isPgError } from '../pg-errors.js';

export interface WaitOptions {
  /** Keep trying until the deadline (dbmate's `wait`); otherwise one attempt. */
  wait: boolean;
  timeoutMs: number;
  /** Called before each retry with the reason the last attempt failed. */
  onRetry?: (reason: string, attempt: number) => void;
}

export type ConnectAttempt =
  | { ok: true; client: pg.Client; attempts: number; elapsedMs: number }
  | { ok: false; reason: string; retryable: boolean; attempts: number; elapsedMs: number };

const RETRY_START_MS = 100;
const RETRY_MAX_MS = 1000;

// A server that is starting, restarting or full says so; a wrong password or
// a missing database will not fix itself by waiting.
const TRANSIENT_SQLSTATES = new Set(['57P03', '53300', '08006', '08001']);

export function isTransientConnectError(err: unknown): boolean {
  return !isPgError(err) || TRANSIENT_SQLSTATES.has(err.code!);
}

async function attempt(settings: Settings, timeoutMs: number): Promise<pg.Client> {
  // Each attempt is bounded by what is left of the wait, not by the configured connect timeout.
  const client = newClient({ ...settings.database, connectTimeoutMs: Math.max(1, Math.round(timeoutMs)) });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await closeConnection(client);
    throw err;
  }
}

/** Connects, retrying transient failures until the deadline when asked to wait. Never throws. */
export async function connectWithWait(settings: Settings, options: WaitOptions): Promise<ConnectAttempt> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  for (let attempts = 1, delay = RETRY_START_MS; ; attempts++, delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      const client = await attempt(settings, deadline - Date.now());
      return { ok: true, client, attempts, elapsedMs: Date.now() - started };
    } catch (err) {
      const reason = maskSecrets(describePgError(err), [settings.database.password]);
      const retryable = isTransientConnectError(err);
      if (!options.wait || !retryable || Date.now() + delay >= deadline) {
        return { ok: false, reason, retryable, attempts, elapsedMs: Date.now() - started };
      }
      options.onRetry?.(reason, attempts);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
