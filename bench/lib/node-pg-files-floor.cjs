// The least a Node.js migration command that checks its files does for
// `status`: the node + pg floor (bench/lib/node-pg-floor.cjs), plus listing
// the directory and reading and hashing every up file (SHA-256, as tidemark
// records it) while the connection is set up, then one query for the version
// row and the recorded checksums, compared file by file. No names, modes,
// history or report: a floor, not a tool. Usage: node-pg-files-floor.cjs DIR.
const { Client } = require('pg');
const fs = require('node:fs');
const { hash } = require('node:crypto');

const dir = `${process.argv[2]}/`;
const client = new Client({ connectionString: process.env.DATABASE_URL });
const connected = client.connect();

const checksums = new Map();
const buffer = Buffer.allocUnsafeSlow(64 * 1024);
for (const name of fs.readdirSync(dir)) {
  const match = /^0*([0-9]+)_.*\.up\.sql$/.exec(name);
  if (!match) continue;
  const fd = fs.openSync(dir + name, 'r');
  const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
  fs.closeSync(fd);
  checksums.set(match[1], hash('sha256', buffer.subarray(0, length), 'hex'));
}

connected
  .then(() =>
    client.query({
      text: `SELECT (SELECT version FROM schema_migrations LIMIT 1),
                    (SELECT string_agg(version || ' ' || checksum, ',') FROM schema_migrations_history WHERE direction = 'up')`,
      rowMode: 'array',
    }),
  )
  .then((result) => {
    const [version, recorded] = result.rows[0];
    let changed = 0;
    for (const entry of (recorded ?? '').split(',')) {
      const [v, checksum] = entry.split(' ');
      if (checksums.has(v) && checksums.get(v) !== checksum) changed++;
    }
    process.stdout.write(`${version}\n${changed ? `${changed} changed\n` : ''}`);
    return client.end();
  })
  .catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  });
