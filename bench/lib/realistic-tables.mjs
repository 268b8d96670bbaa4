// The tables of W8's initial schema: who references whom, the columns every
// later migration or view relies on, and a few more picked by the seeded
// generator from a pool, as a real schema's tables differ in width.

const ref = (table, { optional = false, column = `${table.replace(/ies$/, 'y').replace(/s$/, '')}_id` } = {}) => ({ table, column, optional });

/** Each table's foreign keys, in creation order (a table only references those before it). */
export const PARENTS = {
  organizations: [],
  users: [],
  memberships: [ref('organizations'), ref('users')],
  teams: [ref('organizations')],
  team_members: [ref('teams'), ref('users')],
  plans: [],
  subscriptions: [ref('organizations'), ref('plans')],
  invoices: [ref('subscriptions')],
  invoice_lines: [ref('invoices')],
  payments: [ref('invoices')],
  projects: [ref('organizations'), ref('teams', { optional: true })],
  milestones: [ref('projects')],
  tasks: [ref('projects'), ref('milestones', { optional: true }), ref('users', { optional: true, column: 'assignee_id' })],
  task_comments: [ref('tasks'), ref('users', { column: 'author_id' })],
  labels: [ref('projects')],
  task_labels: [ref('tasks'), ref('labels')],
  attachments: [ref('tasks'), ref('users', { column: 'uploaded_by' })],
  documents: [ref('projects'), ref('users', { column: 'owner_id' })],
  document_versions: [ref('documents'), ref('users', { column: 'author_id' })],
  api_keys: [ref('organizations'), ref('users', { column: 'created_by' })],
  sessions: [ref('users')],
  notifications: [ref('users')],
  notification_preferences: [ref('users')],
  webhooks: [ref('organizations')],
  webhook_deliveries: [ref('webhooks')],
  integrations: [ref('organizations')],
  customers: [ref('organizations')],
  contacts: [ref('customers')],
  deal_stages: [ref('organizations')],
  deals: [ref('customers'), ref('deal_stages', { column: 'stage_id' }), ref('users', { optional: true, column: 'owner_id' })],
  time_entries: [ref('tasks'), ref('users')],
  feature_flags: [],
  feature_flag_overrides: [ref('feature_flags'), ref('organizations')],
  suppliers: [ref('organizations')],
  warehouses: [ref('organizations')],
  products: [ref('organizations'), ref('suppliers', { optional: true })],
  product_variants: [ref('products')],
  stock_levels: [ref('product_variants', { column: 'variant_id' }), ref('warehouses')],
  coupons: [ref('organizations')],
  orders: [ref('customers'), ref('coupons', { optional: true })],
  order_items: [ref('orders'), ref('product_variants', { column: 'variant_id' })],
  shipments: [ref('orders'), ref('warehouses')],
  refunds: [ref('orders'), ref('payments', { optional: true })],
  coupon_redemptions: [ref('coupons'), ref('orders')],
  purchase_orders: [ref('suppliers'), ref('warehouses')],
};

/** Columns that views, functions and later migrations use. */
const REQUIRED = {
  organizations: ['name text NOT NULL', "slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$')", 'billing_email citext'],
  users: ['email citext NOT NULL', 'display_name text NOT NULL', 'password_hash text', 'deleted_at timestamptz'],
  memberships: ["role membership_role NOT NULL DEFAULT 'member'"],
  plans: ['name text NOT NULL UNIQUE', 'price_cents bigint NOT NULL CHECK (price_cents >= 0)', "interval text NOT NULL DEFAULT 'month' CHECK (interval IN ('month', 'year'))", 'seats int'],
  subscriptions: ['started_at timestamptz NOT NULL DEFAULT now()', 'canceled_at timestamptz', 'seats int NOT NULL DEFAULT 1'],
  invoices: ["status invoice_status NOT NULL DEFAULT 'draft'", 'total_cents bigint NOT NULL DEFAULT 0', 'due_on date NOT NULL', 'number text NOT NULL UNIQUE'],
  invoice_lines: ['description text NOT NULL', 'quantity int NOT NULL DEFAULT 1 CHECK (quantity > 0)', 'unit_cents bigint NOT NULL'],
  payments: ['amount_cents bigint NOT NULL CHECK (amount_cents > 0)', 'provider text NOT NULL', 'provider_reference text'],
  projects: ['name text NOT NULL', 'archived_at timestamptz'],
  tasks: ['title text NOT NULL', 'body text', "status task_status NOT NULL DEFAULT 'todo'", 'due_on date', 'position int NOT NULL DEFAULT 0'],
  task_comments: ['body text NOT NULL'],
  notifications: ['kind notification_kind NOT NULL', "payload jsonb NOT NULL DEFAULT '{}'", 'read_at timestamptz'],
  api_keys: ['prefix text NOT NULL', 'secret_hash text NOT NULL', 'last_used_at timestamptz', 'revoked_at timestamptz'],
  sessions: ['token_hash text NOT NULL UNIQUE', 'expires_at timestamptz NOT NULL', 'user_agent text'],
  feature_flags: ['key text NOT NULL UNIQUE', 'enabled boolean NOT NULL DEFAULT false', 'description text'],
  deal_stages: ['name text NOT NULL', 'position int NOT NULL'],
  products: ['sku text NOT NULL', 'title text NOT NULL', "status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'retired'))"],
  product_variants: ['sku text NOT NULL UNIQUE', 'price_cents bigint NOT NULL CHECK (price_cents >= 0)', "attributes jsonb NOT NULL DEFAULT '{}'"],
  stock_levels: ['on_hand int NOT NULL DEFAULT 0', 'reserved int NOT NULL DEFAULT 0', 'CHECK (reserved <= on_hand)'],
  orders: ['number text NOT NULL UNIQUE', "state text NOT NULL DEFAULT 'cart'", 'placed_at timestamptz', 'total_cents bigint NOT NULL DEFAULT 0'],
  order_items: ['quantity int NOT NULL CHECK (quantity > 0)', 'unit_cents bigint NOT NULL'],
  shipments: ['carrier text', 'tracking_number text', 'shipped_at timestamptz', 'delivered_at timestamptz'],
  coupons: ['code citext NOT NULL', 'percent_off numeric(5, 2) CHECK (percent_off BETWEEN 0 AND 100)', 'expires_at timestamptz'],
};

/** Column comments, as a team that documents its schema writes them. */
export const COLUMN_NOTES = {
  'organizations.slug': 'lower-case, used in URLs; never reused after a rename',
  'users.email': 'case-insensitive (citext); unique among users not deleted',
  'users.deleted_at': 'soft delete: the row stays for the audit log, the address is freed',
  'plans.seats': 'NULL: unlimited',
  'subscriptions.canceled_at': 'the subscription runs to the end of the paid period',
  'invoices.total_cents': 'kept equal to the sum of the lines by a trigger',
  'invoices.number': 'as printed on the invoice; gaps are allowed',
  'tasks.position': 'order within a milestone column, renumbered by the application',
  'api_keys.secret_hash': 'SHA-256 of the secret; the secret itself is shown once',
  'sessions.token_hash': 'SHA-256 of the cookie value',
  'product_variants.attributes': 'size, colour and the like, as shown to the buyer',
  'stock_levels.reserved': 'held by unpaid orders; released after 30 minutes',
  'orders.state': 'cart, placed, paid, shipped, delivered, canceled',
  'coupons.code': 'unique per organization among active coupons',
};

const POOL = [
  'name text',
  'description text',
  "metadata jsonb NOT NULL DEFAULT '{}'",
  'is_active boolean NOT NULL DEFAULT true',
  'external_id text',
  'sort_order int NOT NULL DEFAULT 0',
  'notes text',
  'starts_at timestamptz',
  'ends_at timestamptz',
  'amount_cents bigint NOT NULL DEFAULT 0 CHECK (amount_cents >= 0)',
  "currency char(3) NOT NULL DEFAULT 'EUR'",
  'url text',
  'color text',
  'version int NOT NULL DEFAULT 1',
];

/** The table's own columns: the required ones, then three to six more from the pool. */
export function columnsOf(table, random) {
  const columns = [...(REQUIRED[table] ?? [])];
  const taken = new Set(columns.map((c) => c.split(' ')[0]));
  const extra = 3 + Math.floor(random() * 4);
  for (let tries = 0; columns.length < (REQUIRED[table]?.length ?? 0) + extra && tries < 50; tries++) {
    const column = POOL[Math.floor(random() * POOL.length)];
    const name = column.split(' ')[0];
    if (taken.has(name)) continue;
    taken.add(name);
    columns.push(column);
  }
  return columns;
}

export function tableComment(table) {
  return `${table.replace(/_/g, ' ')} of the product; rows are never shared between organizations`;
}
