import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Dataset from "../Dataset.js"
import * as Faults from "../Faults.js"
import { apiKeyOf, userIdOf } from "./auth.js"
import { type Config, maxBodyBytes, maxSearchLength } from "./config.js"
import { apiInfo, healthBody, plansBody, rootBody } from "./fixtures.js"
import { startedBody, statusBody } from "./jobBodies.js"
import { type Job, nextId, placeholder, stateAt, type Store } from "./jobs.js"
import { endpointOf, type Quota, resetDate } from "./quota.js"
import { isJsonType, readBody } from "./requestBody.js"
import * as Responses from "./responses.js"
import { type Counts, snapshot } from "./stats.js"

// The answers of the API: what each route says, once the request is known to be for it.

/** What the handlers read and change. */
export interface State {
  readonly config: Config
  readonly store: Store
  readonly quota: Quota
  readonly counts: Counts
  readonly injector: Faults.Injector
}

export interface Handlers {
  /**
   * The answer of a route of the API. `delivers`: false when a fault will cut
   * the answer off, so a terminal status in it does not count as seen.
   */
  readonly route: (
    request: HttpServerRequest.HttpServerRequest,
    route: Faults.Route,
    id: string | undefined,
    params: URLSearchParams,
    now: number,
    delivers?: boolean
  ) => Effect.Effect<Responses.Outcome>
  /** `POST|DELETE /__admin/faults` and `GET /__admin/stats`. */
  readonly admin: (
    request: HttpServerRequest.HttpServerRequest,
    what: "faults" | "stats"
  ) => Effect.Effect<Responses.Outcome>
  /** The status body of a job (or of a placeholder for an unknown id), under another job's id when `other`. */
  readonly statusOf: (id: string | undefined, now: number, other: boolean) => Record<string, unknown>
  /** The CSV a job serves once ended; `None` for an unknown or evicted id. */
  readonly expectedCsv: (jobId: string, now: number) => Option.Option<string>
}

const decodeAdmin = Schema.decodeUnknownEither(Schema.parseJson(Faults.AdminRequest))

export const make = ({ config, counts, injector, quota, store }: State): Handlers => {
  const duration = config.jobDurationMillis

  const startJob = (search: unknown, now: number, headers: Responses.Headers): Responses.Outcome => {
    if (search === undefined || search === null) return Responses.missingSearch(headers)
    if (typeof search !== "string" || search.trim() === "") return Responses.invalidSearch(headers)
    if (search.length > maxSearchLength) return Responses.searchTooLong(search.length, headers)
    const job = store.start(search, now)
    counts.jobsStarted++
    return Responses.json(200, startedBody(job.id, config.pollingIntervalMillis), headers)
  }

  /** `POST /v0/datasets`: the search from a JSON body, else from the query. */
  const startFromBody = (
    request: HttpServerRequest.HttpServerRequest,
    params: URLSearchParams,
    now: number,
    headers: Responses.Headers
  ): Effect.Effect<Responses.Outcome> => {
    const fromQuery = params.get("search") ?? undefined
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > maxBodyBytes) return Effect.succeed(Responses.tooLarge(headers))
    return Effect.map(readBody(request), (text) => {
      if (Either.isLeft(text)) return Responses.tooLarge(headers)
      const body = text.right
      if (body.trim() === "") return startJob(fromQuery, now, headers)
      if (!isJsonType(request.headers["content-type"])) {
        return Responses.fail(
          400,
          "Search parameter is required",
          "The body must be JSON (Content-Type: application/json)",
          headers
        )
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(body)
      } catch (e) {
        return Responses.fail(400, "Invalid JSON body", e instanceof Error ? e.message : String(e), headers)
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return Responses.fail(400, "Search parameter is required", "The body must be a JSON object", headers)
      }
      return startJob("search" in parsed ? (parsed as { search: unknown }).search : fromQuery, now, headers)
    })
  }

  const status = (id: string, now: number, headers: Responses.Headers, delivers: boolean): Responses.Outcome => {
    const job = store.get(id, now)
    if (job === undefined) return Responses.jobNotFound(id, headers)
    const state = stateAt(job, now, duration)
    if (state.status !== "processing") {
      if (job.terminalServed) counts.statusRequestsAfterTerminal++
      if (delivers) job.terminalServed = true
    }
    // Encoding costs more than the rest of a poll: reuse the body while the state has not changed.
    const cacheKey = `${state.status}|${state.step}|${state.urlsTotal}|${state.rowsCollected}|${state.lastUpdated}`
    if (job.cached === undefined || job.cached.key !== cacheKey) {
      job.cached = { key: cacheKey, body: JSON.stringify(statusBody(job, now, duration).body) }
    }
    return { status: 200, body: job.cached.body, contentType: Responses.jsonType, headers }
  }

  const csv = (id: string, now: number, headers: Responses.Headers): Responses.Outcome => {
    const job = store.get(id, now)
    if (job === undefined) return Responses.jobNotFound(id, headers)
    const state = stateAt(job, now, duration)
    if (state.rowsCollected === 0) return Responses.csvNotReady(headers)
    return {
      status: 200,
      body: Dataset.csv(job.query, state.rowsCollected),
      contentType: Responses.csvType,
      headers: { ...headers, "content-disposition": `attachment; filename="${job.id}.csv"` }
    }
  }

  const usage = (key: string, now: number): Responses.Outcome => {
    const c = quota.counter(key, "/v0/usage", now)
    c.calls++
    return Responses.json(200, quota.usage(key, now), quota.headers(c, now))
  }

  /** `GET /v0/usage`: by key, or without one by `uid`. */
  const usageRoute = (key: string | undefined, params: URLSearchParams, now: number): Responses.Outcome => {
    if (key !== undefined) return config.apiKeys.has(key) ? usage(key, now) : Responses.invalidKey()
    const uid = params.get("uid")
    if (uid === null || uid === "") return Responses.fail(400, "Either uid or api_key is required")
    const owner = [...config.apiKeys].find((k) => userIdOf(k) === uid)
    return owner === undefined ? Responses.invalidKey("Unknown user id") : usage(owner, now)
  }

  const route: Handlers["route"] = (request, route, id, params, now, delivers = true) => {
    switch (route) {
      case "root":
        return Effect.succeed(Responses.json(200, rootBody))
      case "health":
        return Effect.succeed(Responses.json(200, healthBody(now)))
      case "plans":
        return Effect.succeed(Responses.json(200, plansBody))
      default:
        break
    }
    const key = apiKeyOf(params, request.headers)
    if (route === "usage") return Effect.succeed(usageRoute(key, params, now))
    if (key === undefined) return Effect.succeed(Responses.missingKey())
    if (!config.apiKeys.has(key)) return Effect.succeed(Responses.invalidKey())
    const c = quota.counter(key, endpointOf[route]!, now)
    if (c.calls >= config.quota) return Effect.succeed(Responses.quotaExceeded(resetDate(now), quota.headers(c, now)))
    c.calls++
    const headers = quota.headers(c, now)
    const counted = (outcome: Responses.Outcome) => {
      if (outcome.status >= 400) c.errors++
      return outcome
    }
    switch (route) {
      case "info":
        return Effect.succeed(Responses.json(200, apiInfo, headers))
      case "status":
        return Effect.succeed(counted(status(id!, now, headers, delivers)))
      case "csv":
        return Effect.succeed(counted(csv(id!, now, headers)))
      default:
        return request.method === "POST"
          ? Effect.map(startFromBody(request, params, now, headers), counted)
          : Effect.succeed(counted(startJob(params.get("search") ?? undefined, now, headers)))
    }
  }

  const admin: Handlers["admin"] = (request, what) => {
    if (what === "stats") return Effect.succeed(Responses.json(200, snapshot(counts, store.size())))
    if (request.method === "DELETE") {
      injector.clear()
      return Effect.succeed(Responses.json(200, { cleared: true }))
    }
    return Effect.map(readBody(request), (text) => {
      if (Either.isLeft(text)) return Responses.fail(413, "Request body too large")
      const decoded = decodeAdmin(text.right)
      if (Either.isLeft(decoded)) {
        const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
          .map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`)
        return Responses.fail(400, "Invalid fault plan", [...new Set(issues)].slice(0, 5).join("; "))
      }
      injector.set(decoded.right.route, decoded.right.plan ?? undefined)
      return Responses.json(200, { route: decoded.right.route, plan: decoded.right.plan })
    })
  }

  const statusOf: Handlers["statusOf"] = (id, now, other) => {
    const job: Job = (id === undefined ? undefined : store.get(id, now)) ?? placeholder(now, duration)
    return statusBody(job, now, duration, other ? nextId(job) : job.id).body
  }

  const expectedCsv: Handlers["expectedCsv"] = (jobId, now) => {
    const job = store.get(jobId, now)
    if (job === undefined) return Option.none()
    const state = stateAt(job, job.startedAt + Math.max(0, duration) + 1, duration)
    return Option.some(Dataset.csv(job.query, state.rowsCollected))
  }

  return { route, admin, statusOf, expectedCsv }
}
