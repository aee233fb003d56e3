// Inventory Upload to Shopify: the hub's available count of a SKU becomes the "available" quantity of its inventory
// item at the Cart's location.
// - SKU → inventory item: productVariants(query: "sku:<sku>") (https://shopify.dev/docs/api/admin-graphql/latest/queries/productVariants,
//   read_products), kept in the hub store per shop and SKU.
// - Location: spec.platform.locationId, or the shop's only active location
//   (https://shopify.dev/docs/api/admin-graphql/latest/queries/locations, read_locations; inactive ones are left out
//   unless asked for).
// - inventorySetQuantities (https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities,
//   write_inventory) with name "available" and reason "correction". The hub is the source of truth for the count, so
//   the compare-and-set check is opted out of: before 2026-01 with ignoreCompareQuantity: true; from 2026-01 with
//   changeFromQuantity: null on each quantity, which 2026-04 makes mandatory, together with the @idempotent directive
//   (https://shopify.dev/changelog/concurrency-protection-features,
//   https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).
import { createHash } from 'node:crypto';
import type { DeliveryOutcome, RecordWrite } from '../connector.ts';
import type { Pool } from '../../store/database.ts';
import { queryCost, type GraphqlClient } from './graphql-client.ts';
import { describeUserErrors, type ShopifyFailure } from './shopify-errors.ts';
import { cacheInventoryItem, cachedInventoryItem, forgetInventoryItem } from './shopify-store.ts';

const variantsQuery = /* GraphQL */ `
  query SwitchyardVariantsBySku($query: String!) {
    productVariants(first: 5, query: $query) {
      nodes {
        sku
        inventoryItem {
          id
        }
      }
    }
  }
`;

const locationsQuery = /* GraphQL */ `
  query SwitchyardLocations {
    locations(first: 20) {
      nodes {
        id
        name
        isActive
      }
    }
  }
`;

/** The Admin API versions from which inventory mutations take changeFromQuantity and the @idempotent directive. */
const compareAndSwapSince = '2026-01';

export function inventorySetMutation(apiVersion: string, idempotencyKey: string): string {
  const idempotent = apiVersion >= compareAndSwapSince ? ` @idempotent(key: "${idempotencyKey}")` : '';
  return /* GraphQL */ `
    mutation SwitchyardSetAvailable($input: InventorySetQuantitiesInput!) {
      inventorySetQuantities(input: $input)${idempotent} {
        userErrors { code field message }
      }
    }
  `;
}

export function inventorySetInput(
  apiVersion: string,
  inventoryItemId: string,
  locationId: string,
  quantity: number,
): Record<string, unknown> {
  const newer = apiVersion >= compareAndSwapSince;
  return {
    name: 'available',
    reason: 'correction',
    ...(!newer && { ignoreCompareQuantity: true }),
    quantities: [{ inventoryItemId, locationId, quantity, ...(newer && { changeFromQuantity: null }) }],
  };
}

/**
 * A key for Shopify's @idempotent directive: the same for a repeat of this write to this item and location, so a
 * retry after a lost answer is not applied twice; a UUID's shape, as Shopify recommends.
 */
export function shopifyIdempotencyKey(write: RecordWrite, inventoryItemId: string, locationId: string): string {
  const hex = createHash('sha256').update([write.idempotencyKey, inventoryItemId, locationId].join('\n')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The search term for one SKU: quoted, as the search syntax asks for values with spaces or colons. */
export function skuSearch(sku: string): string {
  return sku.includes("'") ? `sku:"${sku}"` : `sku:'${sku}'`;
}

/** A location as Shopify names it: a global id, also from a bare number. */
export function locationGid(locationId: string): string {
  return /^\d+$/.test(locationId) ? `gid://shopify/Location/${locationId}` : locationId;
}

type Resolved<T> = { ok: true; value: T } | { ok: false; outcome: DeliveryOutcome };

function outcomeOf(failure: ShopifyFailure): DeliveryOutcome {
  return failure.transient
    ? {
        kind: 'transient',
        reason: failure.reason,
        ...(failure.retryAfterMs !== undefined && { retryAfterMs: failure.retryAfterMs }),
      }
    : { kind: 'permanent', reason: failure.reason };
}

export interface InventoryUploader {
  upload(write: RecordWrite): Promise<DeliveryOutcome>;
}

export function createInventoryUploader(
  client: GraphqlClient,
  pool: Pool,
  shop: string,
  apiVersion: string,
  configuredLocation: string | undefined,
): InventoryUploader {
  let location: string | undefined = configuredLocation === undefined ? undefined : locationGid(configuredLocation);

  async function resolveLocation(): Promise<Resolved<string>> {
    if (location !== undefined) return { ok: true, value: location };
    const result = await client.request<{ locations: { nodes: { id: string; name: string; isActive: boolean }[] } }>({
      name: 'SwitchyardLocations',
      query: locationsQuery,
      variables: {},
      estimatedCost: queryCost.connection(20, 1),
    });
    if (!result.ok) return { ok: false, outcome: outcomeOf(result.failure) };
    const active = result.data.locations.nodes.filter((candidate) => candidate.isActive);
    if (active.length === 1) {
      location = active[0]!.id;
      return { ok: true, value: location };
    }
    const reason =
      active.length === 0
        ? 'the shop has no active location to set inventory at'
        : `the shop has ${active.length} active locations (${active.map((candidate) => `${candidate.name}: ${candidate.id}`).join(', ')}): set spec.platform.locationId to the one this merchant's warehouse stocks`;
    return { ok: false, outcome: { kind: 'permanent', reason } };
  }

  async function resolveItem(sku: string): Promise<Resolved<string>> {
    const cached = await cachedInventoryItem(pool, shop, sku);
    if (cached !== undefined) return { ok: true, value: cached };
    const result = await client.request<{
      productVariants: { nodes: { sku: string | null; inventoryItem: { id: string } }[] };
    }>({
      name: 'SwitchyardVariantsBySku',
      query: variantsQuery,
      variables: { query: skuSearch(sku) },
      estimatedCost: queryCost.connection(5, 2),
    });
    if (!result.ok) return { ok: false, outcome: outcomeOf(result.failure) };
    // The search matches more loosely than equality: only variants whose SKU is exactly this one count.
    const items = [
      ...new Set(
        result.data.productVariants.nodes
          .filter((variant) => variant.sku === sku)
          .map((variant) => variant.inventoryItem.id),
      ),
    ];
    if (items.length === 0) {
      return {
        ok: false,
        outcome: { kind: 'permanent', reason: `SKU ${sku} is not in the shop: no product variant has it` },
      };
    }
    if (items.length > 1) {
      return {
        ok: false,
        outcome: {
          kind: 'permanent',
          reason: `SKU ${sku} belongs to ${items.length} product variants in the shop: give each its own SKU`,
        },
      };
    }
    await cacheInventoryItem(pool, shop, sku, items[0]!);
    return { ok: true, value: items[0]! };
  }

  async function setAvailable(
    write: RecordWrite,
    sku: string,
    available: number,
    retried: boolean,
  ): Promise<DeliveryOutcome> {
    const where = await resolveLocation();
    if (!where.ok) return where.outcome;
    const item = await resolveItem(sku);
    if (!item.ok) return item.outcome;
    const result = await client.request<{
      inventorySetQuantities: { userErrors: { code: string | null; field: string[] | null; message: string }[] } | null;
    }>({
      name: 'SwitchyardSetAvailable',
      query: inventorySetMutation(apiVersion, shopifyIdempotencyKey(write, item.value, where.value)),
      variables: { input: inventorySetInput(apiVersion, item.value, where.value, available) },
      estimatedCost: queryCost.mutation,
    });
    if (!result.ok) return outcomeOf(result.failure);
    const userErrors = result.data.inventorySetQuantities?.userErrors ?? [];
    if (userErrors.length === 0) return { kind: 'delivered' };
    // A cached item the shop no longer has (the variant was deleted, or its SKU moved): look the SKU up once more.
    if (!retried && userErrors.some((error) => error.code === 'INVALID_INVENTORY_ITEM')) {
      await forgetInventoryItem(pool, shop, sku);
      return setAvailable(write, sku, available, true);
    }
    return { kind: 'permanent', reason: `SKU ${sku}: ${describeUserErrors(userErrors)}` };
  }

  return {
    upload(write) {
      const { sku, available } = write.body as { sku: string; available: number };
      return setAvailable(write, sku, available, false);
    },
  };
}
