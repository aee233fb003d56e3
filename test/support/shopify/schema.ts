// The subset of Shopify's GraphQL Admin API (version 2026-10) that the stand-in answers, copied from the reference
// (https://shopify.dev/docs/api/admin-graphql/latest, whose pages say api_version: 2026-10). Types keep Shopify's
// names, nullability and argument defaults, so that a query valid here is valid there and graphql-js's validation
// refuses what Shopify's would.
import { buildSchema } from 'graphql';

export const SUPPORTED_API_VERSION = '2026-10';

const sdl = /* GraphQL */ `
  # https://shopify.dev/docs/api/usage/idempotent-requests
  directive @idempotent(key: String!) on FIELD

  scalar DateTime
  scalar URL

  interface Node {
    id: ID!
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type UserError {
    field: [String!]
    message: String!
  }

  type MailingAddress implements Node {
    id: ID!
    name: String
    firstName: String
    lastName: String
    company: String
    address1: String
    address2: String
    city: String
    province: String
    provinceCode: String
    zip: String
    country: String
    countryCodeV2: String
    phone: String
  }

  # https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderSortKeys (subset)
  enum OrderSortKeys {
    CREATED_AT
    ID
    PROCESSED_AT
    UPDATED_AT
  }

  enum OrderDisplayFulfillmentStatus {
    FULFILLED
    IN_PROGRESS
    ON_HOLD
    OPEN
    PARTIALLY_FULFILLED
    PENDING_FULFILLMENT
    RESTOCKED
    SCHEDULED
    UNFULFILLED
  }

  type Order implements Node {
    id: ID!
    name: String!
    email: String
    createdAt: DateTime!
    updatedAt: DateTime!
    processedAt: DateTime!
    cancelledAt: DateTime
    displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
    shippingAddress: MailingAddress
    lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): LineItemConnection!
    fulfillmentOrders(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      displayable: Boolean = false
      query: String
    ): FulfillmentOrderConnection!
    fulfillments(first: Int): [Fulfillment!]!
  }

  type OrderConnection {
    edges: [OrderEdge!]!
    nodes: [Order!]!
    pageInfo: PageInfo!
  }

  type OrderEdge {
    cursor: String!
    node: Order!
  }

  type LineItem implements Node {
    id: ID!
    name: String!
    title: String!
    sku: String
    quantity: Int!
    currentQuantity: Int!
    unfulfilledQuantity: Int!
    variant: ProductVariant
  }

  type LineItemConnection {
    edges: [LineItemEdge!]!
    nodes: [LineItem!]!
    pageInfo: PageInfo!
  }

  type LineItemEdge {
    cursor: String!
    node: LineItem!
  }

  # https://shopify.dev/docs/api/admin-graphql/latest/enums/FulfillmentOrderStatus
  enum FulfillmentOrderStatus {
    CANCELLED
    CLOSED
    INCOMPLETE
    IN_PROGRESS
    ON_HOLD
    OPEN
    SCHEDULED
  }

  type FulfillmentOrder implements Node {
    id: ID!
    status: FulfillmentOrderStatus!
    createdAt: DateTime!
    updatedAt: DateTime!
    orderId: ID!
    order: Order!
    assignedLocation: FulfillmentOrderAssignedLocation!
    lineItems(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
    ): FulfillmentOrderLineItemConnection!
  }

  type FulfillmentOrderConnection {
    edges: [FulfillmentOrderEdge!]!
    nodes: [FulfillmentOrder!]!
    pageInfo: PageInfo!
  }

  type FulfillmentOrderEdge {
    cursor: String!
    node: FulfillmentOrder!
  }

  type FulfillmentOrderAssignedLocation {
    name: String!
    location: Location
  }

  type FulfillmentOrderLineItem implements Node {
    id: ID!
    sku: String
    totalQuantity: Int!
    remainingQuantity: Int!
    lineItem: LineItem!
  }

  type FulfillmentOrderLineItemConnection {
    edges: [FulfillmentOrderLineItemEdge!]!
    nodes: [FulfillmentOrderLineItem!]!
    pageInfo: PageInfo!
  }

  type FulfillmentOrderLineItemEdge {
    cursor: String!
    node: FulfillmentOrderLineItem!
  }

  enum FulfillmentStatus {
    CANCELLED
    ERROR
    FAILURE
    SUCCESS
  }

  type Fulfillment implements Node {
    id: ID!
    name: String!
    status: FulfillmentStatus!
    createdAt: DateTime!
    updatedAt: DateTime!
    order: Order!
    location: Location
    trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
    fulfillmentLineItems(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
    ): FulfillmentLineItemConnection!
  }

  type FulfillmentLineItem implements Node {
    id: ID!
    quantity: Int
    lineItem: LineItem!
  }

  type FulfillmentLineItemConnection {
    edges: [FulfillmentLineItemEdge!]!
    nodes: [FulfillmentLineItem!]!
    pageInfo: PageInfo!
  }

  type FulfillmentLineItemEdge {
    cursor: String!
    node: FulfillmentLineItem!
  }

  type FulfillmentTrackingInfo {
    company: String
    number: String
    url: URL
  }

  enum FulfillmentServiceType {
    GIFT_CARD
    MANUAL
    THIRD_PARTY
  }

  type FulfillmentService {
    id: ID!
    handle: String!
    serviceName: String!
    type: FulfillmentServiceType!
  }

  type Location implements Node {
    id: ID!
    name: String!
    isActive: Boolean!
    fulfillmentService: FulfillmentService
  }

  type LocationConnection {
    edges: [LocationEdge!]!
    nodes: [Location!]!
    pageInfo: PageInfo!
  }

  type LocationEdge {
    cursor: String!
    node: Location!
  }

  type ProductVariant implements Node {
    id: ID!
    title: String!
    sku: String
    inventoryItem: InventoryItem!
  }

  type ProductVariantConnection {
    edges: [ProductVariantEdge!]!
    nodes: [ProductVariant!]!
    pageInfo: PageInfo!
  }

  type ProductVariantEdge {
    cursor: String!
    node: ProductVariant!
  }

  type InventoryItem implements Node {
    id: ID!
    sku: String
    tracked: Boolean!
    inventoryLevel(locationId: ID!): InventoryLevel
  }

  type InventoryLevel implements Node {
    id: ID!
    location: Location!
    quantities(names: [String!]!): [InventoryQuantity!]!
  }

  type InventoryQuantity {
    name: String!
    quantity: Int!
  }

  type InventoryChange {
    name: String!
    delta: Int!
    quantityAfterChange: Int
    item: InventoryItem
    location: Location
  }

  type InventoryAdjustmentGroup implements Node {
    id: ID!
    createdAt: DateTime!
    reason: String!
    referenceDocumentUri: String
    changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
  }

  type Query {
    orders(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      sortKey: OrderSortKeys = PROCESSED_AT
      query: String
    ): OrderConnection!
    order(id: ID!): Order
    fulfillmentOrder(id: ID!): FulfillmentOrder
    productVariants(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      query: String
    ): ProductVariantConnection!
    inventoryItem(id: ID!): InventoryItem
    locations(
      first: Int
      after: String
      last: Int
      before: String
      reverse: Boolean = false
      query: String
      includeInactive: Boolean = false
    ): LocationConnection!
  }

  # https://shopify.dev/docs/api/admin-graphql/latest/input-objects/FulfillmentInput
  input FulfillmentInput {
    lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
    notifyCustomer: Boolean = false
    originAddress: FulfillmentOriginAddressInput
    trackingInfo: FulfillmentTrackingInput
  }

  input FulfillmentOrderLineItemsInput {
    fulfillmentOrderId: ID!
    fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
  }

  input FulfillmentOrderLineItemInput {
    id: ID!
    quantity: Int!
  }

  input FulfillmentTrackingInput {
    number: String
    url: URL
    company: String
    numbers: [String!]
    urls: [URL!]
  }

  input FulfillmentOriginAddressInput {
    address1: String
    address2: String
    city: String
    zip: String
    provinceCode: String
    countryCode: String!
  }

  type FulfillmentCreatePayload {
    fulfillment: Fulfillment
    userErrors: [UserError!]!
  }

  # https://shopify.dev/docs/api/admin-graphql/latest/input-objects/InventorySetQuantitiesInput (2026-10: no
  # ignoreCompareQuantity; compareQuantity gave way to changeFromQuantity, which must be given, null to opt out)
  input InventorySetQuantitiesInput {
    name: String!
    reason: String!
    referenceDocumentUri: String
    quantities: [InventoryQuantityInput!]!
  }

  input InventoryQuantityInput {
    inventoryItemId: ID!
    locationId: ID!
    quantity: Int!
    changeFromQuantity: Int
  }

  # https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode (2026-10)
  enum InventorySetQuantitiesUserErrorCode {
    CHANGE_FROM_QUANTITY_STALE
    COMPARE_QUANTITY_REQUIRED
    COMPARE_QUANTITY_STALE
    IDEMPOTENCY_CONCURRENT_REQUEST
    IDEMPOTENCY_KEY_PARAMETER_MISMATCH
    IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED
    INVALID_INVENTORY_ITEM
    INVALID_LOCATION
    INVALID_NAME
    INVALID_QUANTITY_NEGATIVE
    INVALID_QUANTITY_TOO_HIGH
    INVALID_QUANTITY_TOO_LOW
    INVALID_REASON
    INVALID_REFERENCE_DOCUMENT
    ITEM_NOT_STOCKED_AT_LOCATION
    NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
    NON_MUTABLE_INVENTORY_ITEM
  }

  type InventorySetQuantitiesUserError {
    code: InventorySetQuantitiesUserErrorCode
    field: [String!]
    message: String!
  }

  type InventorySetQuantitiesPayload {
    inventoryAdjustmentGroup: InventoryAdjustmentGroup
    userErrors: [InventorySetQuantitiesUserError!]!
  }

  type Mutation {
    fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
    inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  }
`;

export const adminSchema = buildSchema(sdl);
