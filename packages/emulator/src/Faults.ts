/**
 * Faults the emulator injects, for tests of clients: a plan per route, given
 * as an option or set at run time through the admin endpoint.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { random } from "./Dataset.js"

/**
 * The routes of the API, the unit faults and stats are counted by.
 *
 * - `start`: `GET|POST /v0/datasets` (with or without `search`)
 * - `status`: `GET /v0/datasets/{job_id}`
 * - `csv`: `GET /v0/datasets/{job_id}/csv`
 * - `usage`: `GET /v0/usage`, `plans`: `GET /v0/plans`
 * - `health`: `GET /health`, `root`: `GET /`
 * - `info`: `GET /v0/datasets` without `search` (the API info); a fault plan
 *   on `start` does not apply to it
 *
 * @since 0.1.0
 * @category models
 */
export const Route = Schema.Literal("start", "status", "csv", "usage", "plans", "health", "info", "root")

/**
 * @since 0.1.0
 * @category models
 */
export type Route = typeof Route.Type

/**
 * Every route.
 *
 * @since 0.1.0
 * @category constants
 */
export const routes: ReadonlyArray<Route> = Route.literals

const Millis = Schema.Number.pipe(Schema.int(), Schema.between(0, 600_000))

/**
 * Answer with this status, on any route. `Retry-After` is sent when asked:
 * `retryAfter` as a number is seconds (`Retry-After: 3`), as a string it is
 * sent as it is (an HTTP-date, or something malformed to test a client with);
 * `retryAfterDate` is seconds from now sent as an HTTP-date
 * (`Retry-After: Wed, 21 Oct 2026 07:28:03 GMT`), the other form the HTTP
 * standard allows. The body is `body` when given (any JSON), else the spec's
 * error body `{ error, status }`.
 *
 * @since 0.1.0
 * @category models
 */
export const StatusFault = Schema.Struct({
  kind: Schema.Literal("status"),
  status: Schema.Number.pipe(Schema.int(), Schema.between(200, 599)),
  retryAfter: Schema.optional(Schema.Union(Schema.Number.pipe(Schema.nonNegative()), Schema.String)),
  retryAfterDate: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
  body: Schema.optional(Schema.Unknown)
})

/**
 * Destroy the connection without any response.
 *
 * @since 0.1.0
 * @category models
 */
export const DropFault = Schema.Struct({ kind: Schema.Literal("drop") })

/**
 * Wait `millis`, then answer normally.
 *
 * @since 0.1.0
 * @category models
 */
export const DelayFault = Schema.Struct({ kind: Schema.Literal("delay"), millis: Millis })

/**
 * Answer 200 with `Content-Type: application/json` and a body that is not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export const InvalidJsonFault = Schema.Struct({ kind: Schema.Literal("invalidJson") })

/**
 * Answer 200 with valid JSON that breaks the route's schema (on `csv`: a CSV
 * whose header is not the spec's columns).
 *
 * @since 0.1.0
 * @category models
 */
export const SchemaViolationFault = Schema.Struct({ kind: Schema.Literal("schemaViolation") })

/**
 * On `status`: answer 200 with a valid status body of another job id. On
 * other routes it acts as `schemaViolation`.
 *
 * @since 0.1.0
 * @category models
 */
export const OtherJobFault = Schema.Struct({ kind: Schema.Literal("otherJob") })

/**
 * Compute the normal answer, announce its full `Content-Length`, send about
 * half of it (on `csv`: up to the middle of a row) and close the connection.
 *
 * @since 0.1.0
 * @category models
 */
export const TruncateFault = Schema.Struct({ kind: Schema.Literal("truncate") })

/**
 * Compute the normal answer, send about half of it, wait `millis`, then send
 * the rest.
 *
 * @since 0.1.0
 * @category models
 */
export const StallFault = Schema.Struct({ kind: Schema.Literal("stall"), millis: Millis })

/**
 * Answer 200 with a body of `bytes` bytes, streamed in chunks and never held
 * whole, to test a client's bound on what it reads. On `csv` it is the spec's
 * header and one row whose quoted `title` fills the body (`shape: "field"`,
 * the default) or as many ordinary rows as fit (`shape: "rows"`); on `status`
 * a valid status of the job whose `query` fills the body; elsewhere a JSON
 * object with one long string. The full `Content-Length` is announced, or
 * none with `chunked: true`. Never compressed.
 *
 * @since 0.1.0
 * @category models
 */
export const HugeBodyFault = Schema.Struct({
  kind: Schema.Literal("hugeBody"),
  bytes: Schema.Number.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER)),
  shape: Schema.optional(Schema.Literal("field", "rows")),
  chunked: Schema.optional(Schema.Boolean)
})

/**
 * One fault, discriminated by `kind`.
 *
 * @since 0.1.0
 * @category models
 */
export const Fault = Schema.Union(
  StatusFault,
  DropFault,
  DelayFault,
  InvalidJsonFault,
  SchemaViolationFault,
  OtherJobFault,
  TruncateFault,
  StallFault,
  HugeBodyFault
)

/**
 * @since 0.1.0
 * @category models
 */
export type Fault = typeof Fault.Type

/**
 * The next requests of the route get these faults, one each, in order; after
 * them the route answers normally. Use `null` for a request that must be
 * answered normally in between.
 *
 * @example
 * ```ts
 * import type { Faults } from "@effect-qoery/emulator"
 * // two 503 with Retry-After: 1, then normal answers
 * const plan: Faults.FaultPlan = {
 *   _tag: "Script",
 *   faults: [{ kind: "status", status: 503, retryAfter: 1 }, { kind: "status", status: 503, retryAfter: 1 }]
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Script = Schema.TaggedStruct("Script", {
  faults: Schema.Array(Schema.NullOr(Fault))
})

/**
 * Each request of the route gets `fault` with probability `rate`, drawn from
 * a PRNG seeded with `seed` (else the emulator's `seed` option, else 1), so a
 * run repeats.
 *
 * @since 0.1.0
 * @category models
 */
export const Rate = Schema.TaggedStruct("Rate", {
  rate: Schema.Number.pipe(Schema.between(0, 1)),
  fault: Fault,
  seed: Schema.optional(Schema.Number.pipe(Schema.int()))
})

/**
 * A fault plan for one route: a `Script` or a `Rate`.
 *
 * @since 0.1.0
 * @category models
 */
export const FaultPlan = Schema.Union(Script, Rate)

/**
 * @since 0.1.0
 * @category models
 */
export type FaultPlan = typeof FaultPlan.Type

/**
 * A plan per route.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultPlans = { readonly [R in Route]?: FaultPlan | undefined }

/**
 * The body of `POST /__admin/faults`: set (or, with `plan: null`, clear) the
 * plan of a route.
 *
 * @example
 * ```sh
 * curl -X POST localhost:8787/__admin/faults -H 'content-type: application/json' \
 *   -d '{"route":"status","plan":{"_tag":"Script","faults":[{"kind":"status","status":503,"retryAfter":1}]}}'
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const AdminRequest = Schema.Struct({
  route: Route,
  plan: Schema.NullOr(FaultPlan)
})

/**
 * @since 0.1.0
 * @category models
 */
export type AdminRequest = typeof AdminRequest.Type

/**
 * A script of `count` copies of one fault.
 *
 * @since 0.1.0
 * @category constructors
 */
export const times = (fault: Fault, count = 1): FaultPlan => ({
  _tag: "Script",
  faults: Array.from({ length: count }, () => fault)
})

/**
 * A rate plan.
 *
 * @since 0.1.0
 * @category constructors
 */
export const rate = (rate: number, fault: Fault, seed?: number): FaultPlan =>
  seed === undefined ? { _tag: "Rate", rate, fault } : { _tag: "Rate", rate, fault, seed }

interface Active {
  readonly plan: FaultPlan
  index: number
  readonly next: () => number
}

/**
 * The mutable fault state of one emulator: the plan of each route and where
 * it is. Not thread-safe by design: JavaScript runs one request at a time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Injector {
  readonly set: (route: Route, plan: FaultPlan | undefined) => void
  readonly clear: () => void
  /** The fault for the next request of the route, if any. */
  readonly next: (route: Route) => Fault | undefined
}

/**
 * Makes the fault state from initial plans.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInjector = (plans: FaultPlans = {}, seed = 1): Injector => {
  const active = new Map<Route, Active>()
  const set = (route: Route, plan: FaultPlan | undefined) => {
    if (plan === undefined) {
      active.delete(route)
      return
    }
    active.set(route, { plan, index: 0, next: random(plan._tag === "Rate" ? plan.seed ?? seed : seed) })
  }
  for (const route of routes) set(route, plans[route])
  return {
    set,
    clear: () => active.clear(),
    next: (route) => {
      const state = active.get(route)
      if (state === undefined) return undefined
      if (state.plan._tag === "Script") {
        const fault = state.plan.faults[state.index]
        state.index++
        if (state.index >= state.plan.faults.length) active.delete(route)
        return fault ?? undefined
      }
      return state.next() < state.plan.rate ? state.plan.fault : undefined
    }
  }
}
