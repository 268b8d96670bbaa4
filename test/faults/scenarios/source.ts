/** The database backed up and restored in the backup and restore lanes, and the archives made from it once. */
import type { PrivateServer } from '../server.js';
import { createDatabase } from '../server.js';

// Big enough that pg_dump and pg_restore run for a few hundred milliseconds, leaving points to inject at.
const SEED_SQL = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2));
INSERT INTO customers SELECT g, 'customer ' || g, g * 1.25 FROM generate_series(1, 5000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, note text, created date);
INSERT INTO orders SELECT g, 1 + g % 5000, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text), date '2026-01-01' + g % 300 FROM generate_series(1, 30000) g;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_note ON orders (note);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE id > 25000;`;

/** The same tables with other rows: what a --clean restore overwrites. */
const OTHER_CONTENT_SQL = `
DELETE FROM orders WHERE id % 3 = 0;
UPDATE customers SET name = 'renamed ' || id WHERE id % 7 = 0;
UPDATE orders SET note = 'changed' WHERE id % 5 = 0;`;

export async function sourceDatabase(server: PrivateServer, name = 'fsrc'): Promise<string> {
  await createDatabase(server, name);
  await server.query(SEED_SQL, [], name);
  return name;
}

export async function otherContentDatabase(server: PrivateServer, source: string, name: string): Promise<string> {
  await createDatabase(server, name, source);
  await server.query(OTHER_CONTENT_SQL, [], name);
  return name;
}
