/**
 * Which API a command talks to: `--api-key` and `--base-url`, else
 * `QOERY_API_KEY` and `QOERY_BASE_URL` (`QoeryClient.apiKeyConfig` and
 * `baseUrlConfig`, the client's one reading of them, through `Config`, so a test
 * provides a `ConfigProvider`); with neither a key nor a base URL, an
 * emulator started in this process.
 */
import { QoeryClient } from "@effect-qoery/client"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { Emulator } from "@effect-qoery/emulator"
import * as Options from "@effect/cli/Options"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Failure from "./failure.js"
import type { Output } from "./output.js"

/** The connection flags every API command takes, resolved by the flag parser (flag, else environment). */
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

/** `--api-key KEY`, else `QOERY_API_KEY`. */
export const apiKey = Options.redacted("api-key").pipe(
  Options.withPseudoName("KEY"),
  Options.withDescription("The API key (default: $QOERY_API_KEY). It is never printed nor journaled."),
  Options.withFallbackConfig(QoeryClient.apiKeyConfig),
  Options.optional
)

/** `--base-url URL`, else `QOERY_BASE_URL`. */
export const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription(
    "The API origin (default: $QOERY_BASE_URL, else https://api.qoery.com; with neither a key nor a base URL, an embedded emulator)."
  ),
  Options.withFallbackConfig(QoeryClient.baseUrlConfig),
  Options.optional
)

/** The flags of a command that talks to the API. */
export const flags = { apiKey, baseUrl }

/** How long a job takes on the embedded emulator: long enough to watch, short enough to wait for. */
export const embeddedJobDuration = "4 seconds"

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
  Option.isNone(flags.apiKey) && Option.isNone(flags.baseUrl)
    ? embedded(output)
    : Effect.succeed({
      baseUrl: Option.getOrElse(flags.baseUrl, () => QoeryClient.defaultBaseUrl),
      apiKey: Option.getOrUndefined(flags.apiKey),
      embedded: false
    })

/** Fails with `InvalidInput` when the base URL is not an http(s) origin, before anything is sent. */
export const checkBaseUrl = (baseUrl: string) =>
  Either.match(QoeryClient.parseBaseUrl(baseUrl), {
    onLeft: (error) => Effect.fail(error),
    onRight: () => Effect.void
  })

/** The client for a connection, over the client's lean undici transport (the cheapest per poll on Node). */
export const clientLayer = (connection: Connection) =>
  QoeryClient.layer({
    baseUrl: connection.baseUrl,
    ...(connection.apiKey === undefined ? {} : { apiKey: connection.apiKey })
  }).pipe(Layer.provide(UndiciHttpClient.layer))

/** Prints what went wrong against `where` and leaves only the exit code. */
export const report = (output: Output, where: Failure.Where) => (error: Failure.CliError) =>
  Effect.gen(function*() {
    const explained = Failure.explain(error, where)
    for (const line of explained.lines) yield* output.message(line)
    return yield* new Failure.Reported({ code: explained.code })
  })

/**
 * Runs `body` with the client of the resolved connection, and explains its
 * failures against that connection (its base URL, whether it is embedded).
 */
export const withClient = <A, E extends Failure.CliError, R>(
  flags: Flags,
  output: Output,
  body: (connection: Connection) => Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* resolve(flags, output)
    return yield* Effect.zipRight(checkBaseUrl(connection.baseUrl), body(connection)).pipe(
      Effect.provide(clientLayer(connection)),
      Effect.catchAll(report(output, connection))
    )
  }))
