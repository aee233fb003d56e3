// The hub store's schema, as an append-only list of versioned migrations. Never edit a released migration: add one.
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'records, deliveries, cursors and intake failures',
    sql: /* sql */ `
      -- Carts known to the hub, so that inventory can reach every cart of a merchant.
      CREATE TABLE carts (
        namespace     text NOT NULL,
        cart          text NOT NULL,
        merchant      text NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, cart)
      );
      CREATE INDEX carts_by_merchant ON carts (namespace, merchant);

      -- Orders from carts, keyed by their cart's id. revision counts payload changes: an edit is a new revision.
      CREATE TABLE orders (
        id           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        namespace    text NOT NULL,
        merchant     text NOT NULL,
        cart         text NOT NULL,
        source_id    text NOT NULL,
        payload      jsonb NOT NULL,
        payload_hash text NOT NULL,
        revision     bigint NOT NULL DEFAULT 1,
        loaded_at    timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, merchant, cart, source_id)
      );

      -- Shipments (tracking) from the merchant's warehouse, keyed by the warehouse's id, mapped to the order's cart.
      CREATE TABLE shipments (
        id              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        namespace       text NOT NULL,
        merchant        text NOT NULL,
        source_id       text NOT NULL,
        cart            text NOT NULL,
        order_source_id text NOT NULL,
        payload         jsonb NOT NULL,
        payload_hash    text NOT NULL,
        revision        bigint NOT NULL DEFAULT 1,
        received_at     timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, merchant, source_id)
      );

      -- Inventory per merchant and SKU: the warehouse's on-hand count, less the units of orders that loaded since.
      CREATE TABLE inventory_levels (
        id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        namespace   text NOT NULL,
        merchant    text NOT NULL,
        sku         text NOT NULL,
        on_hand     bigint NOT NULL,
        reserved    bigint NOT NULL DEFAULT 0,
        revision    bigint NOT NULL DEFAULT 1,
        reported_at timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, merchant, sku)
      );

      -- Per-destination delivery state of one record. destination is the merchant (orderDelivery) or the cart.
      CREATE TABLE deliveries (
        service            text NOT NULL CHECK (service IN ('orderDelivery', 'shipmentUpload', 'inventoryUpload')),
        namespace          text NOT NULL,
        destination        text NOT NULL,
        record_id          bigint NOT NULL,
        revision           bigint NOT NULL,
        state              text NOT NULL DEFAULT 'pending'
                           CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
        lease_owner        text,
        lease_expires_at   timestamptz,
        attempts           integer NOT NULL DEFAULT 0,
        failure            text CHECK (failure IN ('transient', 'permanent')),
        failure_reason     text,
        first_failed_at    timestamptz,
        last_failed_at     timestamptz,
        -- The run or Automatic pass that recorded the failure: that same pass must not retry it.
        failed_in          text,
        retry_not_before   timestamptz,
        delivered_revision bigint,
        delivered_at       timestamptz,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service, namespace, destination, record_id),
        CHECK ((state = 'in_flight') = (lease_expires_at IS NOT NULL)),
        CHECK ((state = 'failed') <= (failure IS NOT NULL))
      );
      CREATE INDEX deliveries_open ON deliveries (service, namespace, destination, updated_at)
        WHERE state <> 'delivered';

      -- Where each pull service stopped reading its source.
      CREATE TABLE source_cursors (
        service    text NOT NULL,
        namespace  text NOT NULL,
        owner      text NOT NULL,
        cursor     text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service, namespace, owner)
      );

      -- Source records a pull service rejected (malformed, or naming an unknown order), until a valid version arrives.
      CREATE TABLE intake_failures (
        service         text NOT NULL,
        namespace       text NOT NULL,
        owner           text NOT NULL,
        record_key      text NOT NULL,
        reason          text NOT NULL,
        -- The cursor the page was read from, so that cleanup can read the record again.
        cursor_before   text,
        -- The run or cleanup that saw it last: cleanup clears the failures it did not see again.
        last_seen_in    text NOT NULL,
        first_failed_at timestamptz NOT NULL DEFAULT now(),
        last_failed_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service, namespace, owner, record_key)
      );

      -- One channel per service and destination, so a watcher hears only its own work (identifiers: at most 63 bytes).
      CREATE FUNCTION delivery_channel(service text, namespace text, destination text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN 'switchyard_' || left(encode(sha256(convert_to(service || '/' || namespace || '/' || destination, 'UTF8')), 'hex'), 32);

      -- Statement-level, so that loading a page of a thousand orders sends one notification per destination.
      CREATE FUNCTION notify_pending_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify(channel, '')
          FROM (SELECT DISTINCT delivery_channel(service, namespace, destination) AS channel
                  FROM changed_deliveries WHERE state = 'pending') AS pending;
        RETURN NULL;
      END $$;
      CREATE TRIGGER deliveries_inserted_notify AFTER INSERT ON deliveries
        REFERENCING NEW TABLE AS changed_deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION notify_pending_deliveries();
      CREATE TRIGGER deliveries_updated_notify AFTER UPDATE ON deliveries
        REFERENCING NEW TABLE AS changed_deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION notify_pending_deliveries();
    `,
  },
  {
    version: 2,
    name: 'order units: reservations that last until a warehouse count includes them',
    sql: /* sql */ `
      -- What each order holds of each SKU, and what the warehouse may hold of it, so that carts are sent the last
      -- count less only what that count cannot include. An order may end up taking its current units (if that
      -- revision reaches the warehouse) or what the warehouse holds (if it never does), and the last count took off
      -- at least counted_units of it, so it holds back
      --   greatest(units, held_peak) - counted_units
      -- and inventory_levels.reserved is the sum of that over the SKU's orders. It is never negative: nothing is
      -- released before a count shows it. Who changes what:
      --   a load or edit (intake.ts): units; the revision an edit replaces, if it was ever sent, widens the held_*
      --     bounds to its units;
      --   the warehouse acknowledging the current revision (deliveries.ts): held_min = held_max = units;
      --   a count (intake.ts): counted_units = held_min, held_peak = held_max, each widened to units when the current
      --     revision was sent but not acknowledged (it may be in the count or not).
      -- Plain acked/counted units (reserved = units - counted) would oversell: an edit down or a cancellation would
      -- free units the warehouse still holds and may ship, and a count taken while an edit down was in flight, or
      -- after an older revision's ack, would be read as including more than it did. Bounds keep every guess on the
      -- side of selling less.
      CREATE TABLE order_units (
        order_id      bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        sku           text NOT NULL,
        namespace     text NOT NULL,
        merchant      text NOT NULL,
        -- The current revision's units: 0 once the order is cancelled or the line is gone.
        units         bigint NOT NULL,
        -- The least and the most the warehouse may hold for the order: the units of the revision it last acknowledged,
        -- and of every revision sent after it. An ack of an older revision than the current one leaves them: that
        -- revision was sent and then replaced, so its units are already within them (they are not kept apart).
        held_min      bigint NOT NULL DEFAULT 0,
        held_max      bigint NOT NULL DEFAULT 0,
        -- What the SKU's last count surely took off for the order (held_min then).
        counted_units bigint NOT NULL DEFAULT 0,
        -- The most the warehouse may have held for the order since that count.
        held_peak     bigint NOT NULL DEFAULT 0,
        -- Acknowledged and counted as it is: holds nothing back, and no count can change it.
        at_rest       boolean GENERATED ALWAYS AS (
                        units = held_min AND units = held_max AND units = counted_units AND units = held_peak) STORED,
        PRIMARY KEY (order_id, sku)
      );
      CREATE INDEX order_units_open ON order_units (namespace, merchant, sku) WHERE NOT at_rest;

      -- Orders already in the hub, from their current revision's lines. One whose current revision the warehouse
      -- acknowledged before its SKU's last count (reported_at: a count that changed nothing may be later, which only
      -- keeps units held a count longer) is counted; every other order holds its units until the next count, whereas
      -- version 1 had dropped them at the count. The lines of an older revision the warehouse acknowledged were not
      -- kept: it may hold anything from 0 to, as a guess, the current units.
      INSERT INTO order_units (order_id, sku, namespace, merchant, units, held_min, held_max, counted_units, held_peak)
      SELECT o.id, line.sku, o.namespace, o.merchant, line.units,
             CASE WHEN ack.current THEN line.units ELSE 0 END,
             CASE WHEN ack.current OR ack.older THEN line.units ELSE 0 END,
             CASE WHEN ack.current AND ack.at <= level.reported_at THEN line.units ELSE 0 END,
             CASE WHEN ack.current OR ack.older THEN line.units ELSE 0 END
      FROM orders o
      CROSS JOIN LATERAL (
        SELECT e.line->>'sku' AS sku,
               CASE WHEN o.payload->'cancelled' = 'true'::jsonb THEN 0 ELSE sum((e.line->>'quantity')::bigint) END
                 AS units
        FROM jsonb_array_elements(o.payload->'lines') AS e(line) GROUP BY 1
      ) line
      LEFT JOIN deliveries d ON d.service = 'orderDelivery' AND d.namespace = o.namespace
        AND d.destination = o.merchant AND d.record_id = o.id
      CROSS JOIN LATERAL (
        SELECT coalesce(d.state = 'delivered' AND d.delivered_revision = o.revision, false) AS current,
               coalesce(d.delivered_revision < o.revision, false) AS older,
               d.delivered_at AS at
      ) ack
      LEFT JOIN inventory_levels level ON level.namespace = o.namespace AND level.merchant = o.merchant
        AND level.sku = line.sku;

      -- The levels whose reservations change are sent to the merchant's carts again.
      WITH totals AS (
        SELECT l.id, coalesce(sum(greatest(u.units, u.held_peak) - u.counted_units), 0) AS reserved
        FROM inventory_levels l
        LEFT JOIN order_units u ON u.namespace = l.namespace AND u.merchant = l.merchant AND u.sku = l.sku
          AND NOT u.at_rest
        GROUP BY l.id
      ), changed AS (
        UPDATE inventory_levels l SET reserved = t.reserved, revision = l.revision + 1, updated_at = now()
        FROM totals t WHERE l.id = t.id AND l.reserved <> t.reserved
        RETURNING l.id, l.namespace, l.merchant, l.revision
      )
      INSERT INTO deliveries (service, namespace, destination, record_id, revision)
      SELECT 'inventoryUpload', c.namespace, c.cart, changed.id, changed.revision
      FROM changed JOIN carts c ON c.namespace = changed.namespace AND c.merchant = changed.merchant
      ON CONFLICT (service, namespace, destination, record_id) DO UPDATE SET
        revision = excluded.revision,
        state = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                     THEN 'in_flight' ELSE 'pending' END,
        lease_owner = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                           THEN deliveries.lease_owner END,
        lease_expires_at = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                                THEN deliveries.lease_expires_at END,
        attempts = 0, failure = NULL, failure_reason = NULL, first_failed_at = NULL, last_failed_at = NULL,
        failed_in = NULL, retry_not_before = NULL, updated_at = now()
      WHERE deliveries.revision < excluded.revision;
    `,
  },
  {
    version: 3,
    name: 'shopify: a rate budget per store and app, shared by every runner; inventory items by SKU',
    sql: /* sql */ `
      -- Shopify's leaky bucket of calculated query cost, as the runners that call one store with one app last saw it
      -- (operator/runner/connectors/shopify/rate-budget.ts). Keyed by the shop and a digest of the access token, not
      -- by namespace: Shopify keeps one bucket per app and store, whoever calls.
      CREATE TABLE shopify_rate_budgets (
        budget_key        text PRIMARY KEY,
        maximum_available double precision NOT NULL,
        restore_rate      double precision NOT NULL,
        available         double precision NOT NULL,
        updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
      );

      -- The inventory item of each SKU in a shop, so Inventory Upload looks a SKU up once rather than every time.
      CREATE TABLE shopify_inventory_items (
        shop              text NOT NULL,
        sku               text NOT NULL,
        inventory_item_id text NOT NULL,
        cached_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (shop, sku)
      );
    `,
  },
];
