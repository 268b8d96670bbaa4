/**
 * A TCP proxy between a command and its server that can stop answering
 * (stall: nothing is forwarded either way, new connections are accepted and
 * left waiting) or cut every connection (a reset, as when a NAT or a
 * firewall drops the state). After a cut it forwards again.
 */
import net from 'node:net';

export interface FaultProxy {
  port: number;
  stall(): void;
  cut(): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  server?: net.Socket;
}

function forward(from: net.Socket, to: net.Socket, stalled: () => boolean): void {
  from.on('data', (chunk) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => stalled() || from.resume());
    }
  });
}

export function startProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let stalled = false;
  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.server?.destroy();
  };
  const connectUpstream = (pair: Pair) => {
    const server = net.connect({ host: '127.0.0.1', port: targetPort });
    pair.server = server;
    forward(pair.client, server, () => stalled);
    forward(server, pair.client, () => stalled);
    server.on('error', () => drop(pair));
    server.on('close', () => drop(pair));
    pair.client.resume();
  };
  const listener = net.createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    // During a stall a new connection is accepted and then hears nothing, as from a server that stopped answering.
    if (!stalled) connectUpstream(pair);
  });
  return new Promise((resolve) => {
    listener.listen(0, '127.0.0.1', () => {
      resolve({
        port: (listener.address() as net.AddressInfo).port,
        stall() {
          stalled = true;
          for (const pair of pairs) {
            pair.client.pause();
            pair.server?.pause();
          }
        },
        cut() {
          for (const pair of [...pairs]) {
            pair.client.resetAndDestroy();
            pair.server?.resetAndDestroy();
            pairs.delete(pair);
          }
          stalled = false;
        },
        close() {
          for (const pair of [...pairs]) drop(pair);
          return new Promise((done) => listener.close(() => done()));
        },
      });
    });
  });
}
