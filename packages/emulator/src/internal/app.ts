import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Faults from "../Faults.js"
import { negotiate, toResponse, type Wire } from "./compression.js"
import type { Config } from "./config.js"
import * as Handlers from "./handlers.js"
import { answer, type Answered } from "./injected.js"
import { makeStore } from "./jobs.js"
import { makeQuota } from "./quota.js"
import * as Responses from "./responses.js"
import { parseTarget, resolve } from "./router.js"
import { makeCounts, snapshot, type Stats } from "./stats.js"

// The emulator's HTTP handler: each request resolved to a route, answered
// (with its fault, if its plan has one) and, when asked, logged.

export interface Instance {
  readonly app: HttpApp.Default
  readonly injector: Faults.Injector
  readonly stats: () => Stats
  readonly expectedCsv: (jobId: string, now: number) => Option.Option<string>
}

/**
 * Builds the emulator's HTTP handler and its state. With `config.log`, each
 * request is logged with `Effect.logInfo` (method, path, status, time, the
 * fault; never the key), and an internal error with `Effect.logError`: the
 * logger of the fiber that serves decides where they go.
 */
export const make = (config: Config): Instance => {
  const store = makeStore(config.jobDurationMillis, config.jobTtlMillis)
  const injector = Faults.makeInjector(config.faults, config.seed)
  const counts = makeCounts()
  const handlers = Handlers.make({ config, store, quota: makeQuota(config.quota), counts, injector })

  const compressed = () => {
    counts.compressedResponses++
  }
  const identity: Wire = { compress: "off", encoding: undefined, compressed }
  const wireOf = (request: HttpServerRequest.HttpServerRequest): Wire =>
    config.compress === "off"
      ? identity
      : { compress: config.compress, encoding: negotiate(request.headers["accept-encoding"]), compressed }

  const respond = (
    request: HttpServerRequest.HttpServerRequest,
    route: Faults.Route,
    id: string | undefined,
    params: URLSearchParams,
    now: number
  ): Effect.Effect<Answered> => {
    const fault = injector.next(route)
    const wire = wireOf(request)
    if (fault === undefined) {
      return Effect.map(
        handlers.route(request, route, id, params, now),
        (outcome) => ({ response: toResponse(outcome, wire), note: "" })
      )
    }
    counts.faultsInjected++
    return answer(handlers, fault, request, route, id, params, now, wire)
  }

  const handle = (request: HttpServerRequest.HttpServerRequest, now: number): Effect.Effect<Answered> => {
    const target = parseTarget(request.url)
    const resolved = resolve(request.method, target, config.admin)
    switch (resolved._tag) {
      case "NotFound":
        return Effect.succeed({
          response: toResponse(Responses.noRoute(request.method, target.pathname), wireOf(request)),
          note: ""
        })
      case "MethodNotAllowed":
        return Effect.succeed({
          response: toResponse(Responses.methodNotAllowed(target.pathname, resolved.allow), wireOf(request)),
          note: ""
        })
      case "Admin":
        return Effect.map(
          handlers.admin(request, resolved.what),
          (outcome) => ({ response: toResponse(outcome, identity), note: " admin" })
        )
      case "Route":
        counts.requests[resolved.route]++
        return respond(request, resolved.route, resolved.id, target.params, now)
    }
  }

  const app: HttpApp.Default = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    if (!config.log) return (yield* handle(request, now)).response
    const startedAt = yield* Clock.currentTimeNanos
    const result: Answered = yield* handle(request, now)
    const micros = Number((yield* Clock.currentTimeNanos) - startedAt) / 1000
    yield* Effect.logInfo(
      `${request.method} ${Responses.preview(parseTarget(request.url).pathname)} ${result.response.status} ${
        (micros / 1000).toFixed(1)
      }ms${result.note}`
    )
    return result.response
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.as(
        config.log ? Effect.logError("internal error", cause) : Effect.void,
        toResponse(Responses.internalError(), identity)
      )
    )
  )

  return {
    app,
    injector,
    stats: () => snapshot(counts, store.size()),
    expectedCsv: handlers.expectedCsv
  }
}
