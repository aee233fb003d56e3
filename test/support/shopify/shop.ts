// One store's data and the rules Shopify applies when it changes: orders split into fulfillment orders by location,
// fulfillments created from fulfillment orders, inventory set at locations. Answers with userErrors as the
// mutations' payloads carry them; knows nothing of HTTP, GraphQL or access scopes.

export type FulfillmentOrderStatus =
  'CANCELLED' | 'CLOSED' | 'INCOMPLETE' | 'IN_PROGRESS' | 'ON_HOLD' | 'OPEN' | 'SCHEDULED';

export interface MailingAddress {
  readonly name?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly company?: string;
  readonly address1?: string;
  readonly address2?: string;
  readonly city?: string;
  readonly province?: string;
  readonly provinceCode?: string;
  readonly zip?: string;
  readonly country?: string;
  readonly countryCodeV2?: string;
  readonly phone?: string;
}

export interface LocationSeed {
  readonly name: string;
  /** A third-party fulfillment service's location; absent for a merchant-managed location (handle "manual"). */
  readonly fulfillmentServiceHandle?: string;
}

export interface VariantSeed {
  readonly sku: string;
  readonly title?: string;
  /** Available units by location name; the item is stocked at exactly these locations. */
  readonly available: Readonly<Record<string, number>>;
}

export interface OrderLineSeed {
  readonly sku: string;
  readonly quantity: number;
  readonly name?: string;
  /** The location (by name) whose fulfillment order holds this line; the first location when absent. */
  readonly location?: string;
}

export interface OrderSeed {
  readonly name?: string;
  readonly email?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly shippingAddress?: MailingAddress;
  readonly lineItems: readonly OrderLineSeed[];
}

export interface OrderPatch {
  readonly email?: string;
  readonly shippingAddress?: MailingAddress;
  readonly cancelled?: boolean;
  /** New current quantities by SKU (an edit that removes units). */
  readonly currentQuantities?: Readonly<Record<string, number>>;
  readonly updatedAt?: string;
}

export interface Location {
  readonly id: number;
  readonly name: string;
  readonly fulfillmentServiceHandle: string | undefined;
}

export interface LineItem {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  currentQuantity: number;
  fulfilledQuantity: number;
  readonly variantId: number | undefined;
}

export interface Order {
  readonly id: number;
  readonly name: string;
  email: string | undefined;
  readonly createdAt: number;
  updatedAt: number;
  cancelledAt: number | undefined;
  shippingAddress: MailingAddress | undefined;
  readonly lineItems: LineItem[];
}

export interface FulfillmentOrderLineItem {
  readonly id: number;
  readonly lineItemId: number;
  readonly totalQuantity: number;
  remainingQuantity: number;
}

export interface FulfillmentOrder {
  readonly id: number;
  readonly orderId: number;
  readonly locationId: number;
  status: FulfillmentOrderStatus;
  readonly createdAt: number;
  updatedAt: number;
  readonly lineItems: FulfillmentOrderLineItem[];
}

export interface TrackingInfo {
  readonly number: string | null;
  readonly company: string | null;
  readonly url: string | null;
}

export interface Fulfillment {
  readonly id: number;
  readonly orderId: number;
  readonly locationId: number;
  readonly createdAt: number;
  readonly trackingInfo: TrackingInfo[];
  readonly lineItems: { readonly lineItemId: number; readonly quantity: number }[];
  readonly notifyCustomer: boolean;
  readonly message: string | undefined;
}

export interface Variant {
  readonly id: number;
  readonly sku: string;
  readonly title: string;
  readonly inventoryItemId: number;
}

export interface InventoryLevel {
  available: number;
  onHand: number;
}

export interface UserError {
  readonly field: string[] | null;
  readonly message: string;
  readonly code?: string | null;
}

export interface FulfillmentRequest {
  readonly lineItemsByFulfillmentOrder: readonly {
    readonly fulfillmentOrderId: number | undefined;
    readonly fulfillmentOrderLineItems?:
      readonly { readonly id: number | undefined; readonly quantity: number }[] | null;
  }[];
  readonly trackingInfo?: {
    readonly number?: string | null;
    readonly numbers?: readonly string[] | null;
    readonly company?: string | null;
    readonly url?: string | null;
    readonly urls?: readonly string[] | null;
  } | null;
  readonly notifyCustomer?: boolean | null;
  readonly message?: string | null;
}

export interface InventoryChange {
  readonly name: 'available' | 'on_hand';
  readonly delta: number;
  readonly quantityAfterChange: number;
  readonly inventoryItemId: number;
  readonly locationId: number;
}

export interface InventorySetRequest {
  readonly name: string;
  readonly reason: string;
  readonly referenceDocumentUri?: string | null;
  readonly quantities: readonly {
    readonly inventoryItemId: number | undefined;
    readonly locationId: number | undefined;
    readonly quantity: number;
    /** Absent when the caller left it out, null when the caller opted out of the check. */
    readonly changeFromQuantity?: number | null;
  }[];
}

export interface InventoryAdjustmentGroup {
  readonly id: number;
  readonly createdAt: number;
  readonly reason: string;
  readonly referenceDocumentUri: string | null;
  readonly changes: InventoryChange[];
}

/** Fulfillment orders in these states can take a fulfillment; closed, cancelled, on-hold ones cannot.
 * https://shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder (lifecycle: only OPEN and IN_PROGRESS
 * fulfillment orders support the create_fulfillment action) */
const FULFILLABLE: ReadonlySet<FulfillmentOrderStatus> = new Set(['OPEN', 'IN_PROGRESS']);

/** https://shopify.dev/docs/apps/fulfillment/inventory-management-apps/quantities-states#set-inventory-quantities-on-hand */
const INVENTORY_REASONS: ReadonlySet<string> = new Set([
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_canceled',
  'movement_created',
  'movement_received',
  'movement_updated',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
]);

const MAX_INVENTORY_QUANTITY = 1_000_000_000;

export class Shop {
  readonly locations: Location[] = [];
  readonly orders: Order[] = [];
  readonly fulfillmentOrders: FulfillmentOrder[] = [];
  readonly fulfillments: Fulfillment[] = [];
  readonly variants: Variant[] = [];
  readonly adjustmentGroups: InventoryAdjustmentGroup[] = [];
  /** By `${inventoryItemId}:${locationId}`: present only where the item is stocked. */
  readonly inventoryLevels = new Map<string, InventoryLevel>();
  readonly #now: () => number;
  #nextId = 1001;
  #nextOrderNumber = 1001;

  constructor(now: () => number) {
    this.#now = now;
  }

  #id(): number {
    return this.#nextId++;
  }

  addLocation(seed: LocationSeed): Location {
    const location = { id: this.#id(), name: seed.name, fulfillmentServiceHandle: seed.fulfillmentServiceHandle };
    this.locations.push(location);
    return location;
  }

  locationNamed(name: string): Location {
    const location = this.locations.find((candidate) => candidate.name === name);
    if (!location) throw new Error(`the stand-in has no location named ${name}`);
    return location;
  }

  addVariant(seed: VariantSeed): Variant {
    const variant = { id: this.#id(), sku: seed.sku, title: seed.title ?? seed.sku, inventoryItemId: this.#id() };
    this.variants.push(variant);
    for (const [locationName, available] of Object.entries(seed.available)) {
      const location = this.locationNamed(locationName);
      this.inventoryLevels.set(`${variant.inventoryItemId}:${location.id}`, { available, onHand: available });
    }
    return variant;
  }

  /** Creates the order and, as Shopify does, one fulfillment order per location its lines are assigned to. */
  addOrder(seed: OrderSeed): Order {
    const firstLocation = this.locations[0];
    if (!firstLocation) throw new Error('the stand-in needs a location before orders');
    const createdAt = seed.createdAt ? Date.parse(seed.createdAt) : this.#now();
    const order: Order = {
      id: this.#id(),
      name: seed.name ?? `#${this.#nextOrderNumber++}`,
      email: seed.email,
      createdAt,
      updatedAt: seed.updatedAt ? Date.parse(seed.updatedAt) : createdAt,
      cancelledAt: undefined,
      shippingAddress: seed.shippingAddress,
      lineItems: [],
    };
    const byLocation = new Map<number, FulfillmentOrderLineItem[]>();
    for (const line of seed.lineItems) {
      const lineItem: LineItem = {
        id: this.#id(),
        sku: line.sku,
        name: line.name ?? line.sku,
        quantity: line.quantity,
        currentQuantity: line.quantity,
        fulfilledQuantity: 0,
        variantId: this.variants.find((variant) => variant.sku === line.sku)?.id,
      };
      order.lineItems.push(lineItem);
      const location = line.location ? this.locationNamed(line.location) : firstLocation;
      const lines = byLocation.get(location.id) ?? [];
      lines.push({
        id: this.#id(),
        lineItemId: lineItem.id,
        totalQuantity: line.quantity,
        remainingQuantity: line.quantity,
      });
      byLocation.set(location.id, lines);
    }
    this.orders.push(order);
    for (const [locationId, lineItems] of byLocation) {
      this.fulfillmentOrders.push({
        id: this.#id(),
        orderId: order.id,
        locationId,
        status: 'OPEN',
        createdAt: order.createdAt,
        updatedAt: order.updatedAt,
        lineItems,
      });
    }
    return order;
  }

  order(id: number): Order | undefined {
    return this.orders.find((order) => order.id === id);
  }

  /** An edit in the shop's admin: changes what the patch names and moves updatedAt (now, unless given). */
  updateOrder(id: number, patch: OrderPatch): Order {
    const order = this.order(id);
    if (!order) throw new Error(`the stand-in has no order ${id}`);
    if (patch.email !== undefined) order.email = patch.email;
    if (patch.shippingAddress !== undefined) order.shippingAddress = patch.shippingAddress;
    const now = patch.updatedAt ? Date.parse(patch.updatedAt) : this.#now();
    if (patch.cancelled) {
      order.cancelledAt = now;
      for (const fulfillmentOrder of this.fulfillmentOrdersOf(order.id)) fulfillmentOrder.status = 'CLOSED';
    }
    for (const [sku, currentQuantity] of Object.entries(patch.currentQuantities ?? {})) {
      const lineItem = order.lineItems.find((line) => line.sku === sku);
      if (!lineItem) throw new Error(`order ${id} has no line with SKU ${sku}`);
      const removed = lineItem.currentQuantity - currentQuantity;
      lineItem.currentQuantity = currentQuantity;
      const fulfillmentOrderLine = this.fulfillmentOrdersOf(order.id)
        .flatMap((fulfillmentOrder) => fulfillmentOrder.lineItems)
        .find((line) => line.lineItemId === lineItem.id);
      if (fulfillmentOrderLine)
        fulfillmentOrderLine.remainingQuantity = Math.max(0, fulfillmentOrderLine.remainingQuantity - removed);
    }
    order.updatedAt = now;
    return order;
  }

  fulfillmentOrdersOf(orderId: number): FulfillmentOrder[] {
    return this.fulfillmentOrders.filter((fulfillmentOrder) => fulfillmentOrder.orderId === orderId);
  }

  fulfillmentsOf(orderId: number): Fulfillment[] {
    return this.fulfillments.filter((fulfillment) => fulfillment.orderId === orderId);
  }

  location(id: number): Location | undefined {
    return this.locations.find((location) => location.id === id);
  }

  /**
   * fulfillmentCreate: one fulfillment from fulfillment orders of one order, at one location of one fulfillment
   * service, for at most the remaining quantities. Nothing changes when any rule is broken.
   */
  createFulfillment(request: FulfillmentRequest): { fulfillment?: Fulfillment; userErrors: UserError[] } {
    const groups = request.lineItemsByFulfillmentOrder;
    const fulfillmentOrders: FulfillmentOrder[] = [];
    for (const [index, group] of groups.entries()) {
      const fulfillmentOrder = this.fulfillmentOrders.find((candidate) => candidate.id === group.fulfillmentOrderId);
      if (!fulfillmentOrder) {
        return refuse(
          ['fulfillment', 'lineItemsByFulfillmentOrder', String(index), 'fulfillmentOrderId'],
          'Fulfillment order does not exist.',
        );
      }
      fulfillmentOrders.push(fulfillmentOrder);
    }
    if (fulfillmentOrders.length === 0) {
      return refuse(['fulfillment', 'lineItemsByFulfillmentOrder'], 'Fulfillment order line items must be provided.');
    }
    // https://community.shopify.com/t/fulfilling-multiple-orders-for-the-same-customer-using-api/242284: one
    // fulfillment cannot span fulfillment orders of different orders.
    const orderIds = new Set(fulfillmentOrders.map((fulfillmentOrder) => fulfillmentOrder.orderId));
    if (orderIds.size > 1) {
      return refuse(
        ['fulfillment'],
        `All fulfillment orders must belong to the same order. Multiple order IDs [${[...orderIds].join(', ')}] were found.`,
      );
    }
    // https://github.com/phpclassic/php-shopify/issues/51 (the error Shopify gives when one fulfillment mixes line
    // items of different fulfillment services) and https://community.shopify.dev/t/error-in-fulfilling-order/29283
    // ("All fulfillment orders must be assigned to a single location", Shopify staff: "Group them by location and
    // make a separate fulfillment call per location").
    const services = new Set(
      fulfillmentOrders.map(
        (fulfillmentOrder) => this.location(fulfillmentOrder.locationId)?.fulfillmentServiceHandle ?? 'manual',
      ),
    );
    if (services.size > 1) {
      return refuse(['fulfillment'], 'All line items of a fulfillment must use the same fulfillment service.');
    }
    const locationIds = new Set(fulfillmentOrders.map((fulfillmentOrder) => fulfillmentOrder.locationId));
    if (locationIds.size > 1) {
      return refuse(
        ['fulfillment'],
        `All fulfillment orders must be assigned to a single location. Multiple locations with IDs [${[...locationIds].join(', ')}] were found`,
      );
    }
    const planned: { line: FulfillmentOrderLineItem; quantity: number }[] = [];
    for (const [index, group] of groups.entries()) {
      const fulfillmentOrder = fulfillmentOrders[index]!;
      if (!FULFILLABLE.has(fulfillmentOrder.status)) {
        return refuse(
          ['fulfillment', 'lineItemsByFulfillmentOrder', String(index), 'fulfillmentOrderId'],
          `Fulfillment order gid://shopify/FulfillmentOrder/${fulfillmentOrder.id} has an unfulfillable status= ${fulfillmentOrder.status.toLowerCase()}.`,
        );
      }
      const requested = group.fulfillmentOrderLineItems?.length
        ? group.fulfillmentOrderLineItems
        : fulfillmentOrder.lineItems
            .filter((line) => line.remainingQuantity > 0)
            .map((line) => ({ id: line.id, quantity: line.remainingQuantity }));
      for (const [lineIndex, item] of requested.entries()) {
        const line = fulfillmentOrder.lineItems.find((candidate) => candidate.id === item.id);
        const field = [
          'fulfillment',
          'lineItemsByFulfillmentOrder',
          String(index),
          'fulfillmentOrderLineItems',
          String(lineIndex),
        ];
        if (!line)
          return refuse([...field, 'id'], 'Fulfillment order line item does not exist on this fulfillment order.');
        if (item.quantity <= 0 || item.quantity > line.remainingQuantity) {
          return refuse([...field, 'quantity'], 'Invalid fulfillment order line item quantity requested.');
        }
        planned.push({ line, quantity: item.quantity });
      }
    }
    const now = this.#now();
    const order = this.order(fulfillmentOrders[0]!.orderId)!;
    for (const { line, quantity } of planned) {
      line.remainingQuantity -= quantity;
      const lineItem = order.lineItems.find((candidate) => candidate.id === line.lineItemId)!;
      lineItem.fulfilledQuantity += quantity;
    }
    for (const fulfillmentOrder of fulfillmentOrders) {
      fulfillmentOrder.status = fulfillmentOrder.lineItems.every((line) => line.remainingQuantity === 0)
        ? 'CLOSED'
        : 'IN_PROGRESS';
      fulfillmentOrder.updatedAt = now;
    }
    order.updatedAt = now;
    const fulfillment: Fulfillment = {
      id: this.#id(),
      orderId: order.id,
      locationId: fulfillmentOrders[0]!.locationId,
      createdAt: now,
      trackingInfo: trackingInfoOf(request.trackingInfo),
      lineItems: planned.map(({ line, quantity }) => ({ lineItemId: line.lineItemId, quantity })),
      notifyCustomer: request.notifyCustomer ?? false,
      message: request.message ?? undefined,
    };
    this.fulfillments.push(fulfillment);
    return { fulfillment, userErrors: [] };
  }

  variantOfInventoryItem(inventoryItemId: number): Variant | undefined {
    return this.variants.find((variant) => variant.inventoryItemId === inventoryItemId);
  }

  /**
   * inventorySetQuantities as of 2026-04: every quantity names changeFromQuantity (null opts out of the check), and a
   * stale one refuses the whole request. Codes and messages from
   * https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode.
   */
  setInventoryQuantities(request: InventorySetRequest): { group?: InventoryAdjustmentGroup; userErrors: UserError[] } {
    const userErrors: UserError[] = [];
    if (request.name !== 'available' && request.name !== 'on_hand') {
      userErrors.push({
        field: ['input', 'name'],
        message: "The quantity name must be either 'available' or 'on_hand'.",
        code: 'INVALID_NAME',
      });
    }
    if (!INVENTORY_REASONS.has(request.reason)) {
      userErrors.push({
        field: ['input', 'reason'],
        message: 'The specified reason is invalid.',
        code: 'INVALID_REASON',
      });
    }
    for (const [index, quantity] of request.quantities.entries()) {
      const field = (name: string): string[] => ['input', 'quantities', String(index), name];
      const item =
        quantity.inventoryItemId === undefined ? undefined : this.variantOfInventoryItem(quantity.inventoryItemId);
      const location = quantity.locationId === undefined ? undefined : this.location(quantity.locationId);
      if (!item) {
        userErrors.push({
          field: field('inventoryItemId'),
          message: 'The specified inventory item could not be found.',
          code: 'INVALID_INVENTORY_ITEM',
        });
        continue;
      }
      if (!location) {
        userErrors.push({
          field: field('locationId'),
          message: 'The specified location could not be found.',
          code: 'INVALID_LOCATION',
        });
        continue;
      }
      const level = this.inventoryLevels.get(`${item.inventoryItemId}:${location.id}`);
      if (!level) {
        userErrors.push({
          field: field('locationId'),
          message: 'The specified inventory item is not stocked at the location.',
          code: 'ITEM_NOT_STOCKED_AT_LOCATION',
        });
        continue;
      }
      if (quantity.quantity < 0) {
        userErrors.push({
          field: field('quantity'),
          message: "The quantity can't be negative.",
          code: 'INVALID_QUANTITY_NEGATIVE',
        });
      }
      if (quantity.quantity > MAX_INVENTORY_QUANTITY) {
        userErrors.push({
          field: field('quantity'),
          message: "The total quantity can't be higher than 1,000,000,000.",
          code: 'INVALID_QUANTITY_TOO_HIGH',
        });
      }
      // https://shopify.dev/docs/api/admin-graphql/2026-07/input-objects/InventoryQuantityInput: "This field is
      // mandatory: you must explicitly pass in a value, even if that value is null, or the mutation returns an
      // error." The documentation gives no code or wording for that error; this message is the stand-in's own.
      if (quantity.changeFromQuantity === undefined) {
        userErrors.push({
          field: field('changeFromQuantity'),
          message: 'changeFromQuantity must be given; pass null to skip the compare-and-swap check.',
          code: null,
        });
        continue;
      }
      const current = request.name === 'on_hand' ? level.onHand : level.available;
      if (quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== current) {
        userErrors.push({
          field: field('changeFromQuantity'),
          message: 'The changeFromQuantity value does not match persisted value.',
          code: 'CHANGE_FROM_QUANTITY_STALE',
        });
      }
    }
    if (userErrors.length > 0) return { userErrors };
    const changes: InventoryChange[] = [];
    for (const quantity of request.quantities) {
      const level = this.inventoryLevels.get(`${quantity.inventoryItemId}:${quantity.locationId}`)!;
      const delta = quantity.quantity - (request.name === 'on_hand' ? level.onHand : level.available);
      level.available += delta;
      level.onHand += delta;
      for (const name of ['available', 'on_hand'] as const) {
        changes.push({
          name,
          delta,
          quantityAfterChange: name === 'available' ? level.available : level.onHand,
          inventoryItemId: quantity.inventoryItemId!,
          locationId: quantity.locationId!,
        });
      }
    }
    const group: InventoryAdjustmentGroup = {
      id: this.#id(),
      createdAt: this.#now(),
      reason: request.reason,
      referenceDocumentUri: request.referenceDocumentUri ?? null,
      changes,
    };
    this.adjustmentGroups.push(group);
    return { group, userErrors: [] };
  }
}

function refuse(field: string[], message: string): { userErrors: UserError[] } {
  return { userErrors: [{ field, message }] };
}

function trackingInfoOf(input: FulfillmentRequest['trackingInfo']): TrackingInfo[] {
  if (!input) return [];
  const numbers = input.numbers?.length ? input.numbers : input.number ? [input.number] : [];
  const urls = input.urls?.length ? input.urls : input.url ? [input.url] : [];
  return numbers.map((number, index) => ({ number, company: input.company ?? null, url: urls[index] ?? null }));
}
