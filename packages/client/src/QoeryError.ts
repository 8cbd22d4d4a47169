/**
 * Every way a call to the Qoery API can fail, one tagged class per failure a
 * caller handles differently. None of them carries the API key.
 *
 * @since 0.1.0
 */
import type * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The `X-RateLimit-*` headers of a response, where the service sent them.
 *
 * @since 0.1.0
 * @category models
 */
export const RateLimitInfo = Schema.Struct({
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number),
  reset: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type RateLimitInfo = typeof RateLimitInfo.Type

const details = (d: string | undefined) => d === undefined ? "" : ` (${d})`

/**
 * The API key is missing, invalid or revoked (401).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  error: Schema.String,
  details: Schema.optional(Schema.String)
}) {
  override get message() {
    return `Unauthorized: ${this.error}${details(this.details)}. Set QOERY_API_KEY to a valid key.`
  }
}

/**
 * The service rejected the request as invalid (400).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  error: Schema.String,
  details: Schema.optional(Schema.String)
}) {
  override get message() {
    return `Bad request: ${this.error}${details(this.details)}`
  }
}

/**
 * No job has this id (404).
 *
 * @since 0.1.0
 * @category errors
 */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String,
  details: Schema.optional(Schema.String)
}) {
  override get message() {
    return `Job ${this.jobId} not found${details(this.details)}`
  }
}

/**
 * The job has no rows yet, so there is no CSV to download (404).
 *
 * @since 0.1.0
 * @category errors
 */
export class CsvNotReady extends Schema.TaggedError<CsvNotReady>()("CsvNotReady", {
  jobId: Schema.String,
  details: Schema.optional(Schema.String)
}) {
  override get message() {
    return `The CSV of job ${this.jobId} is not ready yet${details(this.details)}`
  }
}

/**
 * The monthly quota is spent (429 without `Retry-After`): retrying before
 * `resetDate` is pointless.
 *
 * @since 0.1.0
 * @category errors
 */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  error: Schema.String,
  resetDate: Schema.optional(Schema.DateTimeUtcFromSelf),
  rateLimit: Schema.optional(RateLimitInfo)
}) {
  override get message() {
    const reset = this.resetDate === undefined ? "" : `; it resets on ${this.resetDate.toJSON()}`
    return `Quota exceeded: ${this.error}${reset}`
  }
}

/**
 * Too many requests for now (429 with `Retry-After`): worth retrying after
 * `retryAfter`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  retryAfter: Schema.DurationFromSelf,
  error: Schema.optional(Schema.String),
  rateLimit: Schema.optional(RateLimitInfo)
}) {
  override get message() {
    return `Rate limited: retry after ${Duration.format(this.retryAfter)}`
  }
}

/**
 * The service failed (5xx). `retryAfter` is the wait its `Retry-After`
 * header asked for (a 503 from a proxy often has one); a retry honours it, up
 * to `maxRetryAfter`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", {
  status: Schema.Number,
  error: Schema.optional(Schema.String),
  details: Schema.optional(Schema.String),
  retryAfter: Schema.optional(Schema.DurationFromSelf)
}) {
  override get message() {
    const wait = this.retryAfter === undefined ? "" : `; retry after ${Duration.format(this.retryAfter)}`
    return `Server error ${this.status}${this.error === undefined ? "" : `: ${this.error}`}${
      details(this.details)
    }${wait}`
  }
}

/**
 * No complete response: the connection failed or dropped, the request timed
 * out, or a download stalled or was cut short.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: Schema.Literal("Transport", "Timeout", "Stalled", "Truncated"),
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message() {
    return `${this.reason}: ${this.description}`
  }
}

/**
 * A response that breaks the spec: a status it does not list, a body that
 * does not decode, a status for another job. `cause` holds the parse error.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseError extends Schema.TaggedError<ResponseError>()("ResponseError", {
  status: Schema.Number,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message() {
    return `Unexpected response (HTTP ${this.status}): ${this.description}`
  }
}

/**
 * Input the client refuses before sending anything: an empty search, an
 * invalid job id, a bad base URL, a missing key, a bad option.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  description: Schema.String
}) {
  override get message() {
    return `Invalid ${this.field}: ${this.description}`
  }
}

/**
 * Any failure of a Qoery API call.
 *
 * @since 0.1.0
 * @category errors
 */
export type QoeryError =
  | Unauthorized
  | BadRequest
  | JobNotFound
  | CsvNotReady
  | QuotaExceeded
  | RateLimited
  | ServerError
  | TransportError
  | ResponseError
  | InvalidInput

const tags = new Set<string>([
  "Unauthorized",
  "BadRequest",
  "JobNotFound",
  "CsvNotReady",
  "QuotaExceeded",
  "RateLimited",
  "ServerError",
  "TransportError",
  "ResponseError",
  "InvalidInput"
])

/**
 * Whether a value is one of the errors of this module.
 *
 * @since 0.1.0
 * @category guards
 */
export const isQoeryError = (u: unknown): u is QoeryError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)

const transientStatuses = new Set([500, 502, 503, 504])

/**
 * Whether the failure may pass if the same request is sent again later: a
 * transport fault, a 500/502/503/504, or a rate limit with `Retry-After`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = (error: QoeryError): boolean =>
  error._tag === "TransportError" ||
  error._tag === "RateLimited" ||
  (error._tag === "ServerError" && transientStatuses.has(error.status))

/**
 * The delay the service asked for before the next try (`Retry-After` of a
 * 429 or a 5xx), if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const retryAfter = (error: QoeryError): Duration.Duration | undefined =>
  error._tag === "RateLimited" || error._tag === "ServerError" ? error.retryAfter : undefined

/**
 * When a quota resets, for `QuotaExceeded`.
 *
 * @since 0.1.0
 * @category getters
 */
export const resetDate = (error: QoeryError): DateTime.Utc | undefined =>
  error._tag === "QuotaExceeded" ? error.resetDate : undefined
