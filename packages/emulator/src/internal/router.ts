import type * as Faults from "../Faults.js"

/**
 * What a request is for. Hand-written rather than `HttpRouter`: each answer
 * is counted by route (`stats`, fault plans), a known path with the wrong
 * method gets 405 with `Allow` and the spec's error body, `GET /v0/datasets`
 * is two routes told apart by a query parameter, and `/__admin` exists only
 * when asked for; a router would need each of these added back.
 */
export type Resolved =
  | { readonly _tag: "Route"; readonly route: Faults.Route; readonly id?: string }
  | { readonly _tag: "Admin"; readonly what: "faults" | "stats" }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: string }

/** A request URL (path and query, as node gives it), split. */
export interface Target {
  readonly pathname: string
  readonly params: URLSearchParams
  /** The path's segments; empty ones dropped except in the middle (`/a//b`). */
  readonly segments: ReadonlyArray<string>
}

export const parseTarget = (url: string): Target => {
  const q = url.indexOf("?")
  const pathname = q === -1 ? url : url.slice(0, q)
  return {
    pathname,
    params: new URLSearchParams(q === -1 ? "" : url.slice(q + 1)),
    segments: pathname.split("/").filter((s, i, all) => s !== "" || (i > 0 && i < all.length - 1))
  }
}

export const resolve = (method: string, target: Target, admin: boolean): Resolved => {
  const { params, segments } = target
  const get = method === "GET" || method === "HEAD"
  const only = (allow: string, route: Faults.Route, id?: string): Resolved =>
    get
      ? (id === undefined ? { _tag: "Route", route } : { _tag: "Route", route, id })
      : { _tag: "MethodNotAllowed", allow }
  const n = segments.length
  if (n === 0) return only("GET", "root")
  if (n === 1 && segments[0] === "health") return only("GET", "health")
  if (segments[0] === "v0") {
    if (n === 2 && segments[1] === "usage") return only("GET", "usage")
    if (n === 2 && segments[1] === "plans") return only("GET", "plans")
    if (segments[1] === "datasets") {
      if (n === 2) {
        if (method === "POST") return { _tag: "Route", route: "start" }
        if (get) return { _tag: "Route", route: params.has("search") ? "start" : "info" }
        return { _tag: "MethodNotAllowed", allow: "GET, POST" }
      }
      if (n === 3) return only("GET", "status", segments[2]!)
      if (n === 4 && segments[3] === "csv") return only("GET", "csv", segments[2]!)
    }
  }
  if (admin && n === 2 && segments[0] === "__admin") {
    if (segments[1] === "faults") {
      return method === "POST" || method === "DELETE"
        ? { _tag: "Admin", what: "faults" }
        : { _tag: "MethodNotAllowed", allow: "POST, DELETE" }
    }
    if (segments[1] === "stats") {
      return get
        ? { _tag: "Admin", what: "stats" }
        : { _tag: "MethodNotAllowed", allow: "GET" }
    }
  }
  return { _tag: "NotFound" }
}
