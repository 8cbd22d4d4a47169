import * as JobStatus from "@effect-qoery/client/JobStatus"
import * as Payloads from "@effect-qoery/client/Payloads"
import * as Schema from "effect/Schema"
import type * as Faults from "../Faults.js"
import { userIdOf } from "./auth.js"
import { planFor } from "./fixtures.js"

// Monthly calls per key and endpoint, the X-RateLimit-* headers and the usage report.

/** The endpoints quotas and `/v0/usage` count by. */
export type Endpoint = "/v0/datasets" | "/v0/datasets/:job_id" | "/v0/datasets/:job_id/csv" | "/v0/usage"

const endpoints: ReadonlyArray<Endpoint> = [
  "/v0/datasets",
  "/v0/datasets/:job_id",
  "/v0/datasets/:job_id/csv",
  "/v0/usage"
]

/** The endpoint a keyed route is counted against. */
export const endpointOf: Partial<Record<Faults.Route, Endpoint>> = {
  start: "/v0/datasets",
  info: "/v0/datasets",
  status: "/v0/datasets/:job_id",
  csv: "/v0/datasets/:job_id/csv",
  usage: "/v0/usage"
}

/** The calls and errors of one key on one endpoint, this month. */
export interface Counter {
  month: number
  calls: number
  errors: number
}

const monthOf = (millis: number) => {
  const d = new Date(millis)
  return d.getUTCFullYear() * 12 + d.getUTCMonth()
}

/** The 1st of the next month, 00:00 UTC. */
export const resetDate = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

const encodeUsage = Schema.encodeSync(Payloads.UsageStats)

export interface Quota {
  /** The counter of a key on an endpoint, started afresh in a new month. */
  readonly counter: (key: string, endpoint: Endpoint, now: number) => Counter
  readonly headers: (counter: Counter, now: number) => Record<string, string>
  /** The `/v0/usage` body of a key. */
  readonly usage: (key: string, now: number) => unknown
}

export const makeQuota = (quota: number): Quota => {
  const counters = new Map<string, Counter>()
  const counter = (key: string, endpoint: Endpoint, now: number): Counter => {
    const id = `${key}\u0000${endpoint}`
    const month = monthOf(now)
    let c = counters.get(id)
    if (c === undefined || c.month !== month) {
      c = { month, calls: 0, errors: 0 }
      counters.set(id, c)
    }
    return c
  }
  return {
    counter,
    headers: (c, now) => ({
      "x-ratelimit-limit": String(quota),
      "x-ratelimit-remaining": String(Math.max(0, quota - c.calls)),
      "x-ratelimit-reset": JobStatus.formatTimestamp(resetDate(now))
    }),
    usage: (key, now) => {
      const breakdown = endpoints.map((endpoint) => {
        const c = counter(key, endpoint, now)
        return new Payloads.EndpointUsage({ endpoint, calls: c.calls, errors: c.errors, limit: quota }, true)
      })
      return encodeUsage(
        new Payloads.UsageStats({
          userId: userIdOf(key),
          plan: planFor(quota),
          totalUsage: breakdown.reduce((n, e) => n + e.calls, 0),
          totalErrors: breakdown.reduce((n, e) => n + e.errors, 0),
          endpointBreakdown: breakdown
        }, true)
      )
    }
  }
}
