/**
 * A lean `HttpClient` over a WHATWG `fetch`: the transport the Promise API
 * uses when it is given a `fetch` or runs where undici is not there. It
 * costs less per request than `@effect/platform`'s `FetchHttpClient`
 * (BENCHMARKS.md), honours the same `FetchHttpClient.Fetch` and
 * `FetchHttpClient.RequestInit` services, and is an ordinary `HttpClient`:
 * `HttpClient.mapRequest`, `retryTransient` and the rest wrap it as any
 * other.
 *
 * @example
 * ```ts
 * import { QoeryClient } from "@effect-qoery/client"
 * import * as FetchHttpClient from "@effect-qoery/client/FetchHttpClient"
 * import { Layer } from "effect"
 *
 * const QoeryLive = QoeryClient.layer({ apiKey: process.env.QOERY_API_KEY }).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Layer from "effect/Layer"
import * as internal from "./internal/fetchHttpClient.js"

/**
 * An `HttpClient` over `fetch` (the global one when not given), unless the
 * request's context holds a `FetchHttpClient.Fetch`. Redirects follow the
 * `RequestInit` (`QoeryClient` sets `redirect: "manual"`); timeouts are left
 * to Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (fetch?: typeof globalThis.fetch) => HttpClient.HttpClient = internal.make

/**
 * An `HttpClient` over the global `fetch`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.succeed(HttpClient.HttpClient, make())
