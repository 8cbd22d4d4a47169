/**
 * The other payloads of the spec: errors, usage, plans, health and API info.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Timestamp } from "./internal/timestamp.js"

/**
 * The body of every error response (`ErrorResponse` of the spec), with the
 * `reset_date` that a 429 adds.
 *
 * @since 0.1.0
 * @category models
 */
export class ErrorResponse extends Schema.Class<ErrorResponse>("ErrorResponse")({
  error: Schema.String,
  status: Schema.optionalWith(Schema.Int, { exact: true, nullable: true }),
  details: Schema.optionalWith(Schema.String, { exact: true, nullable: true }),
  resetDate: Schema.optionalWith(Timestamp, { exact: true, nullable: true }).pipe(Schema.fromKey("reset_date"))
}) {}

/**
 * The body of `POST /v0/datasets`.
 *
 * @since 0.1.0
 * @category models
 */
export class JobStartRequest extends Schema.Class<JobStartRequest>("JobStartRequest")({
  search: Schema.String.pipe(Schema.minLength(1))
}) {}

/**
 * Calls of one endpoint in the current month.
 *
 * @since 0.1.0
 * @category models
 */
export class EndpointUsage extends Schema.Class<EndpointUsage>("EndpointUsage")({
  endpoint: Schema.String,
  calls: Schema.NonNegativeInt,
  errors: Schema.NonNegativeInt,
  limit: Schema.NonNegativeInt
}) {}

/**
 * The subscription plans.
 *
 * @since 0.1.0
 * @category models
 */
export const PlanName = Schema.Literal("free", "starter", "pro", "growth")

/**
 * Usage and quota of the caller (`GET /v0/usage`).
 *
 * @since 0.1.0
 * @category models
 */
export class UsageStats extends Schema.Class<UsageStats>("UsageStats")({
  userId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("user_id")),
  plan: PlanName,
  totalUsage: Schema.NonNegativeInt,
  totalErrors: Schema.NonNegativeInt,
  endpointBreakdown: Schema.Array(EndpointUsage)
}) {}

/**
 * A price of a plan.
 *
 * @since 0.1.0
 * @category models
 */
export class PlanPrice extends Schema.Class<PlanPrice>("PlanPrice")({
  amount: Schema.Number,
  currency: Schema.String,
  priceId: Schema.String
}) {}

/**
 * The support level of a plan: one of the three the spec lists, or one this
 * client does not know yet. The spec types `support` as a plain string and
 * lists the three in its description only, so a new level is shown as it
 * came rather than rejected; `string & {}` keeps the known ones typed.
 *
 * @since 0.1.0
 * @category models
 */
export type SupportLevel = "Community" | "Standard" | "Priority" | (string & {})

/**
 * The schema of `support`: any string, decoded to a `SupportLevel`.
 *
 * @since 0.1.0
 * @category models
 */
export const SupportLevel: Schema.Schema<SupportLevel, string> = Schema.String

/**
 * A subscription plan. `apiKeys` is a count or a word such as `"unlimited"`.
 *
 * @since 0.1.0
 * @category models
 */
export class Plan extends Schema.Class<Plan>("Plan")({
  name: Schema.String,
  description: Schema.String,
  price: Schema.String,
  billing: Schema.String,
  limits: Schema.Record({ key: Schema.String, value: Schema.Int }),
  apiKeys: Schema.propertySignature(Schema.Union(Schema.Int, Schema.String)).pipe(Schema.fromKey("api_keys")),
  support: SupportLevel,
  monthlyPrice: Schema.optionalWith(Schema.NullOr(PlanPrice), { exact: true }),
  annualPrice: Schema.optionalWith(Schema.NullOr(PlanPrice), { exact: true }),
  discountPercentage: Schema.optionalWith(Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1))), { exact: true })
}) {}

/**
 * The plans on offer (`GET /v0/plans`).
 *
 * @since 0.1.0
 * @category models
 */
export class PlansResponse extends Schema.Class<PlansResponse>("PlansResponse")({
  plans: Schema.Record({ key: Schema.String, value: Plan }),
  defaultPlan: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("default_plan"))
}) {}

/**
 * `GET /health`.
 *
 * @since 0.1.0
 * @category models
 */
export class HealthResponse extends Schema.Class<HealthResponse>("HealthResponse")({
  status: Schema.String,
  timestamp: Timestamp
}) {}

/**
 * `GET /v0/datasets` without a search: what the API offers.
 *
 * @since 0.1.0
 * @category models
 */
export class ApiInfo extends Schema.Class<ApiInfo>("ApiInfo")({
  message: Schema.String,
  endpoints: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}

/**
 * `GET /`.
 *
 * @since 0.1.0
 * @category models
 */
export class RootStatus extends Schema.Class<RootStatus>("RootStatus")({
  status: Schema.String
}) {}
