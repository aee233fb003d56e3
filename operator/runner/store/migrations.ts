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
];
