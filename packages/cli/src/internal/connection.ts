/**
 * Which API a command talks to: the flags, then `QOERY_API_KEY` and
 * `QOERY_BASE_URL`; with neither a key nor a base URL, an emulator started in
 * this process.
 */
import { QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Output } from "./output.js"

/** The connection flags every API command takes. */
export interface Flags {
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly baseUrl: Option.Option<string>
}

/** A resolved connection. The key stays `Redacted`. */
export interface Connection {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted | undefined
  /** Whether the API is the emulator inside this process (it stops with it). */
  readonly embedded: boolean
}

/** How long a job takes on the embedded emulator: long enough to watch, short enough to wait for. */
export const embeddedJobDuration = "4 seconds"

const env = (name: string): string | undefined => {
  const value = process.env[name]
  return value === undefined || value.trim() === "" ? undefined : value
}

/** The key and base URL from the flags and the environment, before any emulator. */
export const configured = (flags: Flags) => {
  const apiKey = Option.getOrUndefined(flags.apiKey) ??
    (env("QOERY_API_KEY") === undefined ? undefined : Redacted.make(env("QOERY_API_KEY")!))
  const baseUrl = Option.getOrUndefined(flags.baseUrl) ?? env("QOERY_BASE_URL")
  return { apiKey, baseUrl }
}

/** Starts the emulator in this process for as long as the scope lives, and says so in one line. */
export const embedded = (output: Output): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Emulator.layer({ port: 0, host: "127.0.0.1", jobDuration: embeddedJobDuration })
    ).pipe(Effect.orDie)
    const emulator = Context.get(context, Emulator.Emulator)
    yield* output.message(
      `qoery: QOERY_API_KEY and QOERY_BASE_URL are not set, so using the embedded emulator at ${emulator.baseUrl} (demo data; set them to use the real service)`
    )
    return { baseUrl: emulator.baseUrl, apiKey: Redacted.make(Emulator.demoApiKey), embedded: true }
  })

/** The connection for the flags: the configured API, or the embedded emulator when nothing is configured. */
export const resolve = (flags: Flags, output: Output): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.suspend(() => {
    const { apiKey, baseUrl } = configured(flags)
    if (apiKey === undefined && baseUrl === undefined) return embedded(output)
    return Effect.succeed({ baseUrl: baseUrl ?? QoeryClient.defaultBaseUrl, apiKey, embedded: false })
  })

/** Fails with `InvalidInput` when the base URL is not an http(s) origin, before anything is sent. */
export const checkBaseUrl = (baseUrl: string) =>
  Either.match(QoeryClient.parseBaseUrl(baseUrl), {
    onLeft: (error) => Effect.fail(error),
    onRight: () => Effect.void
  })

/** The client for a connection, over undici. */
export const clientLayer = (connection: Connection) =>
  QoeryClient.layer({
    baseUrl: connection.baseUrl,
    ...(connection.apiKey === undefined ? {} : { apiKey: connection.apiKey })
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))
