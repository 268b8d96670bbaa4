/**
 * Reaching PostgreSQL: every connection tidemark makes is opened here, with a
 * connect timeout, TCP keepalive and an error listener, so that a server
 * that never answers is a coded error within the timeout and a connection
 * that dies later surfaces through the query that was waiting on it.
 */
import net from 'node:net';
import pg from 'pg';
import type { DatabaseTarget } from '../connection-string.js';
import { maskSecrets } from '../connection-string.js';
import { TidemarkError, type ErrorCode } from '../errors.js';
import { describePgError, isPgError } from '../pg-errors.js';
import { closeConnection, setCloseBehaviour } from '../connection-close.js';

export interface ConnectOptions {
  /** What the connection is for, for messages. */
  operation: string;
  /** Another database on the same server (a scratch or a new one). */
  database?: string;
  /** The code of a failure to connect (default DB_CONNECT_FAILED). */
  code?: ErrorCode;
  hint?: string;
}

// Keepalive probes find a peer that vanished (a host that died, a cable
// pulled) on a connection that waits for a long statement.
const KEEPALIVE_DELAY_MS = 10_000;

/** A pg client for the target, not yet connected: the one place that builds one. */
export function newClient(target: DatabaseTarget, database?: string): pg.Client {
  const config = target.client;
  const client = new pg.Client({
    ...config,
    ...(database !== undefined && { database }),
    application_name: config.application_name ?? 'tidemark',
    connectionTimeoutMillis: target.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
  });
  // A connection that dies later surfaces through the failing query; this keeps it from crashing the process.
  client.on('error', () => undefined);
  setCloseBehaviour(client, target.waitForClose);
  return client;
}

/** Why a connection attempt failed, in plain words, the password masked. */
export function describeConnectFailure(target: DatabaseTarget, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/timeout/i.test(message) && !isPgError(err)) {
    const seconds = (target.connectTimeoutMs / 1000).toFixed(target.connectTimeoutMs % 1000 ? 1 : 0);
    return `no answer from ${target.host}:${target.port} within ${seconds} s (connect_timeout in the URL, or TIDEMARK_CONNECT_TIMEOUT)`;
  }
  return maskSecrets(describePgError(err), [target.password]);
}

/** Connects, or throws a coded error naming the server (never the password). */
export async function connect(target: DatabaseTarget, options: ConnectOptions): Promise<pg.Client> {
  const client = newClient(target, options.database);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await closeConnection(client);
    throw new TidemarkError(options.code ?? 'DB_CONNECT_FAILED', 'cannot connect to the database', {
      operation: `${options.operation}: connect to ${target.redacted}`,
      cause: describeConnectFailure(target, err),
      hint: options.hint ?? 'check DATABASE_URL (host, port, user, password, database) and that the server is running',
    }, { cause: err });
  }
}

const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server to cancel what the client's backend is running: the
 * protocol's CancelRequest on a connection of its own, which needs no
 * authentication and works while the client waits for its result. Resolves
 * false when the request could not be delivered within the timeout.
 */
export function cancelBackend(target: DatabaseTarget, client: pg.Client, timeoutMs = 5_000): Promise<boolean> {
  const { processID, secretKey } = client as unknown as { processID?: number; secretKey?: number };
  if (processID === undefined || secretKey === undefined || processID === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(processID, 8);
    packet.writeInt32BE(secretKey, 12);
    const socket = net.connect({ host: target.host, port: target.port });
    let sent = false;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => {
      socket.end(packet);
      sent = true;
    });
    // The server reads the request and closes the connection without a word.
    socket.once('close', () => finish(sent));
    socket.once('error', () => finish(false));
  });
}

const LOST_MESSAGES = /Connection terminated|connection error and is not queryable|not queryable|ECONNRESET|EPIPE|socket hang up|write after end/i;
// admin_shutdown, crash_shutdown, cannot_connect_now, and the connection_exception class.
const LOST_SQLSTATES = /^(57P01|57P02|57P03|08)/;

/** Whether an error means the connection itself is gone (server restarted, network cut), rather than a failed statement. */
export function isConnectionLost(err: unknown): boolean {
  if (isPgError(err)) return LOST_SQLSTATES.test(err.code!);
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return LOST_MESSAGES.test(err.message) || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
