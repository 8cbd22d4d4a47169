/**
 * A lean `HttpClient` for Node, straight over an undici `Dispatcher`: the
 * transport the status poll costs least on (see BENCHMARKS.md). It is an
 * ordinary `HttpClient`, so `HttpClient.mapRequest`, `retryTransient` and the
 * rest wrap it as they wrap any other, and `QoeryClient` works over it as
 * over `FetchHttpClient` or `NodeHttpClient`.
 *
 * It needs the `undici` package (an optional peer dependency of
 * `@effect-qoery/client`); the rest of the client does not.
 *
 * @example
 * ```ts
 * import { QoeryClient } from "@effect-qoery/client"
 * import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
 * import { Layer } from "effect"
 *
 * const QoeryLive = QoeryClient.layer({ apiKey: process.env.QOERY_API_KEY }).pipe(
 *   Layer.provide(UndiciHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Agent, type Dispatcher } from "undici"
import * as internal from "./internal/undiciHttpClient.js"

/**
 * An `HttpClient` over the given undici `Dispatcher` (an `Agent`, a `Pool`,
 * a `MockAgent`, ...). Redirects are not followed; timeouts are left to
 * Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (dispatcher: Dispatcher) => HttpClient.HttpClient = internal.make

/**
 * An `HttpClient` over a new undici `Agent` with the given options, closed
 * with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options?: Agent.Options): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => new Agent(options)),
        (agent) => Effect.promise(() => agent.destroy())
      ),
      make
    )
  )

/**
 * An `HttpClient` over a new undici `Agent` (keep-alive connections), closed
 * with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = layerWith()
