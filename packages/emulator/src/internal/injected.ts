import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Faults from "../Faults.js"
import { toResponse, type Wire } from "./compression.js"
import type { Handlers } from "./handlers.js"
import { hugeBody } from "./hugeBody.js"
import { csvType, errorBody, faultMessage, json, jsonType, type Outcome } from "./responses.js"
import { drop, rawResponse, stall, truncate } from "./transports.js"

// A request of a route answered with the fault its plan gives it.

/** An answer and what the log line says of it. */
export interface Answered {
  readonly response: HttpServerResponse.HttpServerResponse
  readonly note: string
}

/** Valid JSON (or CSV) that breaks every route's schema. */
const violation = (route: Faults.Route): Outcome =>
  route === "csv"
    ? { status: 200, body: "id;name\r\n1;not the spec's columns\r\n", contentType: csvType }
    : json(200, {
      job_id: 42,
      status: "exploded",
      progress: "half",
      message: 7,
      endpoints: [],
      plans: [],
      timestamp: "yesterday",
      polling_interval_ms: "soon"
    })

const retryAfter = (fault: typeof Faults.StatusFault.Type, now: number): Record<string, string> => {
  if (fault.retryAfterDate !== undefined) {
    return { "retry-after": new Date(now + fault.retryAfterDate * 1000).toUTCString() }
  }
  return fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) }
}

export const answer = (
  handlers: Handlers,
  fault: Faults.Fault,
  request: HttpServerRequest.HttpServerRequest,
  route: Faults.Route,
  id: string | undefined,
  params: URLSearchParams,
  now: number,
  wire: Wire
): Effect.Effect<Answered> => {
  const note = ` fault=${fault.kind}`
  const done = (outcome: Outcome) => Effect.succeed({ response: toResponse(outcome, wire), note })
  switch (fault.kind) {
    case "status":
      return done(
        json(
          fault.status,
          fault.body === undefined ? errorBody(fault.status, faultMessage(fault.status)) : fault.body,
          retryAfter(fault, now)
        )
      )
    case "delay":
      return Effect.sleep(Duration.millis(fault.millis)).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.flatMap((later) => handlers.route(request, route, id, params, later)),
        Effect.map((outcome) => ({ response: toResponse(outcome, wire), note }))
      )
    case "invalidJson":
      return done({ status: 200, body: "{\"job_id\": \"2025", contentType: jsonType })
    case "schemaViolation":
      return done(violation(route))
    case "otherJob":
      return done(route === "status" ? json(200, handlers.statusOf(id, now, true)) : violation(route))
    case "hugeBody":
      return Effect.succeed({ response: hugeBody(route, () => handlers.statusOf(id, now, false), fault), note })
    case "drop":
    case "truncate":
    case "stall": {
      const raw = rawResponse(request)
      if (raw === undefined) {
        // Not on a node server: end the body with an error, the closest this platform can do.
        return Effect.succeed({
          response: HttpServerResponse.stream(Stream.fail(new Error(`injected ${fault.kind}`))),
          note
        })
      }
      const answered = { response: HttpServerResponse.empty(), note }
      if (fault.kind === "drop") return Effect.as(drop(raw), answered)
      return Effect.flatMap(handlers.route(request, route, id, params, now, false), (outcome) =>
        Effect.as(
          fault.kind === "truncate"
            ? truncate(raw, outcome, route === "csv", wire)
            : stall(raw, outcome, route === "csv", fault.millis, wire),
          answered
        ))
    }
  }
}
