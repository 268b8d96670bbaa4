// The least any Node.js migration command does for `status`: Node.js starts,
// loads pg, connects (TCP, a server backend, SCRAM), reads the version row and
// prints it. No files, no history, no checks: a floor, not a tool.
const { Client } = require('pg');

const client = new Client({ connectionString: process.env.DATABASE_URL });
client
  .connect()
  .then(() => client.query('SELECT version, dirty FROM schema_migrations'))
  .then((result) => {
    process.stdout.write(`${result.rows[0].version}\n`);
    return client.end();
  })
  .catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  });
