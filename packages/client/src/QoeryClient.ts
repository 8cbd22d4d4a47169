/**
 * The Qoery API as an Effect service: one method per endpoint, typed results,
 * typed errors.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Redact from "./internal/redact.js"
import * as ResponsesModule from "./internal/responses.js"
import * as Timeout from "./internal/timeout.js"
import * as JobId from "./JobId.js"
import * as JobStatusModule from "./JobStatus.js"
import type { JobStarted, JobStatus } from "./JobStatus.js"
import { ApiInfo, HealthResponse, PlansResponse, UsageStats } from "./Payloads.js"
import * as QoeryError from "./QoeryError.js"

/**
 * The production API.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.qoery.com"

/**
 * The longest search the client sends.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxSearchLength = 2_000

/**
 * How to reach the API.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The API key, sent as `x-api-key` to `baseUrl` only. Needed by every endpoint but health and plans. */
  readonly apiKey?: Redacted.Redacted | string | undefined
  /** Default `https://api.qoery.com`. An origin: http(s), no credentials, no path, query or fragment. */
  readonly baseUrl?: string | URL | undefined
  /** Per request, up to the last byte of a JSON body or between two chunks of a CSV. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Send the key over plain http to a host that is not loopback. Default `false`. */
  readonly allowInsecureKey?: boolean | undefined
  /** Keep the HTTP client's own span per request inside the client's span. Default `false`. */
  readonly httpSpans?: boolean | undefined
  /**
   * The most bytes read of a JSON response (a status is a few KB); a bigger
   * body is a `ResponseError`, not retried. Default 1 MiB. The CSV is not
   * bounded by it.
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * How the job is started: `POST` with a JSON body (default) or `GET` with a
 * `search` query parameter.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  readonly method?: "POST" | "GET" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The origin requests go to. */
  readonly baseUrl: URL
  /** Starts a dataset job for a search query. */
  readonly startJob: (search: string, options?: StartOptions) => Effect.Effect<JobStarted, QoeryError.QoeryError>
  /** The status of a job; the id is validated before anything is sent. */
  readonly getStatus: (jobId: string) => Effect.Effect<JobStatus, QoeryError.QoeryError>
  /** The job's CSV as bytes, partial while the job runs. */
  readonly downloadCsv: (jobId: string) => Stream.Stream<Uint8Array, QoeryError.QoeryError>
  /** Usage and quota of the key. */
  readonly usage: Effect.Effect<UsageStats, QoeryError.QoeryError>
  /** The subscription plans. */
  readonly plans: Effect.Effect<PlansResponse, QoeryError.QoeryError>
  /** Whether the service is up. */
  readonly health: Effect.Effect<HealthResponse, QoeryError.QoeryError>
  /** The endpoints the API describes (`GET /v0/datasets` without a search). */
  readonly apiInfo: Effect.Effect<ApiInfo, QoeryError.QoeryError>
}

/**
 * The client service.
 *
 * @since 0.1.0
 * @category tags
 */
export class QoeryClient extends Context.Tag("@effect-qoery/client/QoeryClient")<QoeryClient, Service>() {}

/**
 * Whether `getStatus` opens a `QoeryClient.getStatus` span of its own
 * (default `true`). A caller that already runs each call in a span for the
 * same job sets it to `false` there: the watcher does, inside its
 * `JobWatcher.poll` span, which carries the job id, the poll and the attempt;
 * a second span around the same request would tell nothing more.
 *
 * @since 0.1.0
 * @category references
 */
export class StatusSpan extends Context.Reference<StatusSpan>()("@effect-qoery/client/QoeryClient/StatusSpan", {
  defaultValue: (): boolean => true
}) {}

const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname)

/**
 * What is wrong with a base URL that does not parse, never quoting it: any
 * part of it (userinfo, host, port, path, query) may hold the key.
 */
const unparseable = (input: string): string => {
  const expected = `expected an origin such as ${defaultBaseUrl}`
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(input)
  if (scheme === null) return `the base URL is not a URL: it does not start with http:// or https:// (${expected})`
  const authority = input.slice(scheme[0].length).split(/[/?#]/, 1)[0]!
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1)
  if (hostPort === "") return `the base URL is not a URL: it has no host (${expected})`
  if (hostPort.startsWith("[") && !/^\[[0-9a-f:.]+\](:\d*)?$/i.test(hostPort)) {
    return `the base URL is not a URL: its host is not an IPv6 address in brackets (${expected})`
  }
  const port = /:([^:\]]*)$/.exec(hostPort)
  if (port !== null && (!/^\d*$/.test(port[1]!) || Number(port[1]) > 65535)) {
    return `the base URL is not a URL: its port is not a number from 0 to 65535 (${expected})`
  }
  return `the base URL is not a URL: its host has a character a host name cannot have (${expected})`
}

/**
 * Validates a base URL: http(s), no credentials, no path, query or fragment.
 * A message about it quotes none of it but the scheme of a parsed URL, and
 * that only when it is a short word (`ftp`, `file`): the key may stand anywhere in a URL.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseBaseUrl = (input: string | URL): Either.Either<URL, QoeryError.InvalidInput> => {
  const fail = (description: string) => Either.left(new QoeryError.InvalidInput({ field: "baseUrl", description }))
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return fail(unparseable(String(input)))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return fail(`expected http or https, got ${/^[a-z]{1,10}:$/.test(url.protocol) ? url.protocol : "another scheme"}`)
  }
  if (url.username !== "" || url.password !== "") return fail("credentials in the URL are not allowed; use apiKey")
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return fail(`expected an origin such as ${defaultBaseUrl}, without path, query or fragment`)
  }
  return Either.right(url)
}

// Control characters other than tab and line breaks.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/
/** Nothing a reader sees: white space and invisible format characters (a zero-width space, a BOM). */
const invisible = /^[\p{White_Space}\p{Cf}]*$/u
/** Half of a UTF-16 pair without the other half: not text, and sent as U+FFFD. */
const loneSurrogate = /\p{Cs}/u

/**
 * Validates a search query: something visible, at most `maxSearchLength`
 * characters, no control characters, well-formed text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validateSearch = (search: unknown): Either.Either<string, QoeryError.InvalidInput> => {
  const fail = (description: string) => Either.left(new QoeryError.InvalidInput({ field: "search", description }))
  if (typeof search !== "string") return fail("expected a string")
  if (invisible.test(search)) return fail("the search query must contain at least one non-blank character")
  if (search.length > maxSearchLength) {
    return fail(`the search query is ${search.length} characters long; the most is ${maxSearchLength}`)
  }
  if (controlCharacters.test(search)) return fail("the search query contains control characters")
  if (loneSurrogate.test(search)) return fail("the search query is not well-formed text (a lone UTF-16 surrogate)")
  return Either.right(search)
}

/**
 * Validates a job id string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validateJobId = (jobId: unknown): Either.Either<JobId.JobId, QoeryError.InvalidInput> =>
  JobId.isFast(jobId) ? Either.right(jobId) : Either.mapLeft(
    JobId.decode(jobId),
    (error) => new QoeryError.InvalidInput({ field: "jobId", description: JobId.describe(error) })
  )

/**
 * What is wrong with a key as an HTTP header value, never quoting it: an
 * HTTP stack refuses a control character or one beyond Latin-1 with an error
 * that may carry the whole value (fetch's `Headers` does).
 */
const keyProblem = (key: string): string | undefined => {
  if (key.trim() === "") return "the API key is empty"
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) {
      return `the API key contains a control character at position ${i + 1} (a line break or tab pasted with it?)`
    }
    if (c > 0xff) {
      return `the API key contains a character that cannot be sent in an HTTP header at position ${i + 1} ` +
        "(only printable ASCII and Latin-1 can)"
    }
  }
  return undefined
}

/** The key of the options, as `Redacted`. */
const keyOf = (apiKey: Options["apiKey"]): Redacted.Redacted | undefined =>
  apiKey === undefined ? undefined : Redacted.isRedacted(apiKey) ? apiKey : Redacted.make(apiKey)

/**
 * `error` with the key out of its description, whatever the input was (a
 * base URL or a host that holds the key, in any case).
 *
 * @internal
 */
export const redactInvalidInput = (
  error: QoeryError.InvalidInput,
  apiKey: Options["apiKey"]
): QoeryError.InvalidInput => {
  const description = Redact.ignoringCase(keyOf(apiKey))(error.description)
  return description === error.description
    ? error
    : new QoeryError.InvalidInput({ field: error.field, description })
}

const validateOptions = (options: Options) =>
  Effect.gen(function*() {
    const baseUrl = yield* parseBaseUrl(options.baseUrl ?? defaultBaseUrl)
    const apiKey = keyOf(options.apiKey)
    if (apiKey !== undefined) {
      const problem = keyProblem(Redacted.value(apiKey))
      if (problem !== undefined) return yield* new QoeryError.InvalidInput({ field: "apiKey", description: problem })
    }
    if (apiKey !== undefined && baseUrl.protocol === "http:" && !isLoopback(baseUrl.hostname)) {
      if (options.allowInsecureKey !== true) {
        return yield* new QoeryError.InvalidInput({
          field: "baseUrl",
          description:
            `refusing to send the API key over plain http to ${baseUrl.host}: anyone on the way could read it. ` +
            "Use https, or set allowInsecureKey if you know the network is private"
        })
      }
    }
    const timeout = Duration.decodeUnknown(options.timeout ?? Duration.seconds(30))
    if (Option.isNone(timeout) || !Duration.greaterThan(timeout.value, Duration.zero)) {
      return yield* new QoeryError.InvalidInput({ field: "timeout", description: "expected a positive duration" })
    }
    const maxResponseBytes = options.maxResponseBytes ?? ResponsesModule.defaultMaxResponseBytes
    if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1) {
      return yield* new QoeryError.InvalidInput({
        field: "maxResponseBytes",
        description: `expected a whole number of bytes, 1 or more, got ${String(maxResponseBytes)}`
      })
    }
    return { baseUrl, apiKey, timeout: timeout.value, maxResponseBytes }
  }).pipe(Effect.mapError((error) => redactInvalidInput(error, options.apiKey)))

/**
 * Builds the service on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, QoeryError.InvalidInput, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const { apiKey, baseUrl, maxResponseBytes, timeout } = yield* validateOptions(options)
    // What the server sends goes into errors and values without the key (a server may echo the header).
    const Responses = ResponsesModule.handlers(maxResponseBytes, Redact.fromKey(apiKey))
    const origin = baseUrl.origin
    // Redirects are not followed: fetch would carry the x-api-key header to wherever they point.
    const requestInit = yield* Effect.serviceOption(FetchHttpClient.RequestInit)
    const init: globalThis.RequestInit = { ...Option.getOrElse(requestInit, () => ({})), redirect: "manual" }
    const absolute = yield* HttpClient.HttpClient
    const client = absolute.pipe(HttpClient.mapRequest((request) => HttpClientRequest.prependUrl(request, origin)))

    const noKey = new QoeryError.InvalidInput({
      field: "apiKey",
      description: "this endpoint needs an API key: set QOERY_API_KEY or pass apiKey"
    })
    const authed = (request: HttpClientRequest.HttpClientRequest) =>
      apiKey === undefined
        ? Effect.fail(noKey)
        : Effect.succeed(HttpClientRequest.setHeader(request, "x-api-key", Redacted.value(apiKey)))

    const timedOut = (request: { readonly method: string; readonly url: string }) => () =>
      new QoeryError.TransportError({
        reason: "Timeout",
        description: `${request.method} ${request.url} took longer than ${Duration.format(timeout)}`
      })

    const send = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.mapError(client.execute(HttpClientRequest.acceptJson(request)), Responses.fromHttpClientError)

    /** As `send`, for a request that has its absolute URL and its headers. */
    const sendAbsolute = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.mapError(absolute.execute(request), Responses.fromHttpClientError)

    // Every request runs in a fiber of its own (Timeout.isolated) that the timeout interrupts, with fetch's
    // RequestInit (no redirects) and, unless `httpSpans`, no span of the HttpClient's own: set in that fiber,
    // they need no restoring, where `Effect.provideService` and `Effect.locally` cost a scope per call.
    const withInit = (context: Context.Context<never>) => Context.add(context, FetchHttpClient.RequestInit, init)
    const noHttpSpan = options.httpSpans === true
      ? undefined
      : [[HttpClient.currentTracerDisabledWhen, () => true] as const]
    const within = <A>(
      effect: Effect.Effect<A, QoeryError.QoeryError>,
      request: { readonly method: string; readonly url: string },
      span?: Tracer.Span
    ) =>
      Timeout.isolated(effect, {
        timeout,
        onTimeout: timedOut(request),
        context: withInit,
        refs: noHttpSpan,
        span
      })

    /** Sends a request and handles its response, all within the timeout. */
    const call = <A>(
      request: HttpClientRequest.HttpClientRequest,
      handle: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, QoeryError.QoeryError>
    ) => within(Effect.flatMap(send(request), handle), request)

    const span = (name: string, attributes: Record<string, unknown> = {}) =>
      Effect.withSpan(`QoeryClient.${name}`, { attributes, captureStackTrace: false })

    /**
     * A start answer: the job runs on the server whatever the rest says, so an
     * answer that cannot be read still names the job it started, when it has a
     * valid id (the invalid polling hint alone is left out, `decodeStarted`).
     */
    const started = (response: HttpClientResponse.HttpClientResponse) => {
      let jobId: JobId.JobId | undefined
      const decode = (input: unknown) => {
        const decoded = JobStatusModule.decodeStarted(input)
        if (Either.isLeft(decoded)) jobId = JobStatusModule.startedJobId(input)
        return decoded
      }
      return Effect.mapError(
        Responses.decodeBodyWith(response, decode, "a JobStartResponse"),
        (error) =>
          error._tag === "ResponseError" && jobId !== undefined
            ? new QoeryError.ResponseError({
              ...error,
              description: `job ${jobId} was started (follow it by its id), but ${error.description}`
            })
            : error
      )
    }

    const startJob = (search: string, startOptions?: StartOptions) =>
      Effect.gen(function*() {
        const valid = yield* validateSearch(search)
        const request = startOptions?.method === "GET"
          ? HttpClientRequest.get("/v0/datasets", { urlParams: { search: valid } })
          : HttpClientRequest.post("/v0/datasets").pipe(HttpClientRequest.bodyUnsafeJson({ search: valid }))
        return yield* call(
          yield* authed(request),
          HttpClientResponse.matchStatus({
            200: started,
            400: Responses.badRequest,
            401: Responses.unauthorized,
            429: Responses.tooManyRequests,
            "5xx": Responses.serverError,
            orElse: (r) => Responses.unexpected(r, "200, 400, 401, 429, 500")
          })
        )
      }).pipe(
        Effect.tap((started) => Effect.annotateCurrentSpan("qoery.job_id", started.jobId)),
        span("startJob")
      )

    // The hot path of every watcher: the request is one copy of a template that
    // already has its headers, to an absolute URL (no mapRequest step), and
    // no generator.
    const statusTemplate = HttpClientRequest.get(origin).pipe(
      HttpClientRequest.acceptJson,
      (request) =>
        apiKey === undefined ? request : HttpClientRequest.setHeader(request, "x-api-key", Redacted.value(apiKey))
    )
    const handleStatus = (id: JobId.JobId) =>
      HttpClientResponse.matchStatus({
        200: (r) => Responses.decodeBodyWith(r, Responses.decodeStatus, "a JobStatus"),
        401: Responses.unauthorized,
        404: (r) => notFound(r, id),
        429: Responses.tooManyRequests,
        "5xx": Responses.serverError,
        orElse: (r) => Responses.unexpected(r, "200, 401, 404, 429, 500")
      })
    const checkId = (id: JobId.JobId) => (status: JobStatus): Effect.Effect<JobStatus, QoeryError.QoeryError> =>
      status.jobId === id ? Effect.succeed(status) : Effect.fail(
        new QoeryError.ResponseError({
          status: 200,
          description: `asked for job ${id}, got the status of job ${status.jobId}`
        })
      )
    /** A status request and its handling, or why there is none (a bad id, no key). */
    const statusCall = (jobId: string): Either.Either<
      {
        readonly effect: Effect.Effect<JobStatus, QoeryError.QoeryError>
        readonly target: { readonly method: string; readonly url: string }
      },
      QoeryError.InvalidInput
    > => {
      const valid = validateJobId(jobId)
      if (Either.isLeft(valid)) return Either.left(valid.left)
      if (apiKey === undefined) return Either.left(noKey)
      const id = valid.right
      const path = `/v0/datasets/${id}`
      const request = HttpClientRequest.setUrl(statusTemplate, origin + path)
      return Either.right({
        effect: Effect.flatMap(Effect.flatMap(sendAbsolute(request), handleStatus(id)), checkId(id)),
        target: { method: "GET", url: path }
      })
    }
    const statusSpanOptions = { captureStackTrace: false } as const
    const getStatus = (jobId: string) =>
      Effect.withFiberRuntime((fiber): Effect.Effect<JobStatus, QoeryError.QoeryError> => {
        const own = Context.get(fiber.currentContext, StatusSpan)
        const call = statusCall(jobId)
        if (Either.isLeft(call)) {
          return own
            ? Effect.fail(call.left).pipe(span("getStatus", { "qoery.job_id": jobId }))
            : Effect.fail(call.left)
        }
        const { effect, target } = call.right
        if (!own) return within(effect, target)
        // Its own span, opened here and ended by `within` with the call: cheaper than `Effect.withSpan`.
        return Effect.flatMap(
          Effect.makeSpan("QoeryClient.getStatus", {
            ...statusSpanOptions,
            attributes: { "qoery.job_id": jobId }
          }),
          (span) => within(effect, target, span)
        )
      })
    const requestMillis = Duration.toMillis(timeout)
    const statusIn: StatusIn = <E2>(jobId: string, span: Tracer.Span, deadline: Deadline<E2> | undefined) => {
      const call = statusCall(jobId)
      if (Either.isLeft(call)) return Timeout.isolated(Effect.fail(call.left), { span })
      const { effect, target } = call.right
      const sooner = deadline !== undefined && Duration.toMillis(deadline.after) < requestMillis
      return Timeout.isolated<JobStatus, QoeryError.QoeryError, QoeryError.QoeryError | E2>(effect, {
        timeout: sooner ? deadline.after : timeout,
        onTimeout: sooner ? deadline.error : timedOut(target),
        context: withInit,
        refs: noHttpSpan,
        span
      })
    }

    /** The 404's error body, or `undefined` when it is not one (a proxy's HTML page): the status alone decides. */
    const notFoundBody = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.orElseSucceed(
        Responses.errorBody(response),
        () => undefined
      )

    const notFoundDetails = (body: { readonly details?: string | undefined } | undefined) =>
      body === undefined ? { details: ResponsesModule.noErrorBody } : body.details ? { details: body.details } : {}

    const notFound = (response: HttpClientResponse.HttpClientResponse, jobId: string) =>
      Effect.flatMap(notFoundBody(response), (body) =>
        Effect.fail(
          new QoeryError.JobNotFound({ jobId, ...notFoundDetails(body) })
        ))

    const csvNotFound = (response: HttpClientResponse.HttpClientResponse, jobId: string) =>
      Effect.flatMap(notFoundBody(response), (body) => {
        const fields = { jobId, ...notFoundDetails(body) }
        // The rule of the body's text, where an error that does not say "not found" (or no text) is not ready.
        const error = body?.error ?? ""
        return Effect.fail(
          /not ready/i.test(error) || !/not found/i.test(error)
            ? new QoeryError.CsvNotReady(fields)
            : new QoeryError.JobNotFound(fields)
        )
      })

    const downloadCsv = (jobId: string): Stream.Stream<Uint8Array, QoeryError.QoeryError> =>
      Stream.unwrap(
        Effect.gen(function*() {
          const id = yield* validateJobId(jobId)
          const request = yield* authed(HttpClientRequest.get(`/v0/datasets/${id}/csv`))
          const response = yield* within(send(HttpClientRequest.setHeader(request, "accept", "text/csv")), request)
          if (response.status === 200) {
            // A JSON answer where the spec promises text/csv would parse as a CSV of one odd header line and no rows.
            const contentType = (response.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
            if (contentType === "application/json" || contentType.endsWith("+json")) {
              return yield* new QoeryError.ResponseError({
                status: 200,
                description: `expected the CSV (text/csv), got a body of type ${contentType}`
              })
            }
            return body(response, request)
          }
          return yield* within(
            HttpClientResponse.matchStatus(response, {
              401: Responses.unauthorized,
              404: (r) => csvNotFound(r, id),
              429: Responses.tooManyRequests,
              "5xx": Responses.serverError,
              orElse: (r) => Responses.unexpected(r, "200, 401, 404, 429, 500")
            }),
            request
          )
        }).pipe(span("downloadCsv", { "qoery.job_id": jobId }))
      )

    /**
     * The body as a stream that fails, rather than ends, when it stalls or is
     * cut short of its Content-Length. A content-encoded body (fetch asks for
     * gzip and decodes it) announces its encoded length while the stream
     * gives decoded bytes: there the decoder tells a cut body, not the count.
     */
    const body = (
      response: HttpClientResponse.HttpClientResponse,
      request: HttpClientRequest.HttpClientRequest
    ): Stream.Stream<Uint8Array, QoeryError.QoeryError> => {
      const encoding = (response.headers["content-encoding"] ?? "identity").trim().toLowerCase()
      const declared = encoding === "identity" || encoding === ""
        ? Number(response.headers["content-length"] ?? Number.NaN)
        : Number.NaN
      const expected = Number.isFinite(declared) ? declared : undefined
      let received = 0
      const truncated = (cause?: unknown) =>
        new QoeryError.TransportError({
          reason: "Truncated",
          description: `${request.url}: got ${received} of the ${expected} bytes announced`,
          ...(cause === undefined ? {} : { cause })
        })
      return response.stream.pipe(
        // A body that breaks off before its announced length was cut short, whatever the transport calls it.
        Stream.mapError((error) =>
          expected !== undefined && received < expected
            ? truncated(error.cause)
            : Responses.fromHttpClientError(error)
        ),
        Stream.timeoutFail(
          () =>
            new QoeryError.TransportError({
              reason: "Stalled",
              description: `${request.url}: no data for ${Duration.format(timeout)}`
            }),
          timeout
        ),
        Stream.tap((chunk) => Effect.sync(() => received += chunk.length)),
        Stream.concat(
          Stream.suspend(() =>
            expected !== undefined && received !== expected ? Stream.fail(truncated()) : Stream.empty
          )
        )
      )
    }

    const usage = Effect.gen(function*() {
      return yield* call(
        yield* authed(HttpClientRequest.get("/v0/usage")),
        HttpClientResponse.matchStatus({
          200: (r) => Responses.decodeBody(r, UsageStats, "a UsageStats"),
          400: Responses.badRequest,
          401: Responses.unauthorized,
          429: Responses.tooManyRequests,
          "5xx": Responses.serverError,
          orElse: (r) => Responses.unexpected(r, "200, 400, 401, 500")
        })
      )
    }).pipe(span("usage"))

    /** A GET that needs no key and answers 200 or a server error. */
    const openGet = <A, I>(path: string, schema: Schema.Schema<A, I>, what: string, listed: string) =>
      call(
        HttpClientRequest.get(path),
        HttpClientResponse.matchStatus({
          200: (r) => Responses.decodeBody(r, schema, what),
          "5xx": Responses.serverError,
          orElse: (r) => Responses.unexpected(r, listed)
        })
      )

    const plans = openGet("/v0/plans", PlansResponse, "a PlansResponse", "200, 500").pipe(span("plans"))

    const health = openGet("/health", HealthResponse, "a HealthResponse", "200").pipe(span("health"))

    const apiInfo = Effect.gen(function*() {
      return yield* call(
        yield* authed(HttpClientRequest.get("/v0/datasets")),
        HttpClientResponse.matchStatus({
          200: (r) => Responses.decodeBody(r, ApiInfo, "an ApiInfo"),
          401: Responses.unauthorized,
          429: Responses.tooManyRequests,
          "5xx": Responses.serverError,
          orElse: (r) => Responses.unexpected(r, "200, 401, 429, 500")
        })
      )
    }).pipe(span("apiInfo"))

    const service = QoeryClient.of({ baseUrl, startJob, getStatus, downloadCsv, usage, plans, health, apiInfo })
    statusInSpan.set(service, statusIn)
    return service
  })

/**
 * `getStatus` in a span of the caller's (which it ends), bounded by the
 * caller's deadline as well as the request timeout, all in the one fiber the
 * request runs in: what the watcher runs for each poll. Calling `getStatus`
 * within a span and a deadline would take a second fiber, about 30 us of a
 * poll (BENCHMARKS.md).
 */
type StatusIn = <E2>(
  jobId: string,
  span: Tracer.Span,
  deadline: Deadline<E2> | undefined
) => Effect.Effect<JobStatus, QoeryError.QoeryError | E2>

/** Fails with `error()` after this long. */
interface Deadline<E2> {
  readonly after: Duration.Duration
  readonly error: () => E2
}

/**
 * `StatusIn` of each service that `make` built, and of no other: a service
 * wrapped or written by hand is called through its `getStatus`.
 *
 * @internal
 */
export const statusInSpan = new WeakMap<Service, StatusIn>()

/**
 * The client with the given options, on the `HttpClient` you provide
 * (`FetchHttpClient.layer`, `NodeHttpClient.layerUndici`, ...).
 *
 * @example
 * ```ts
 * import { QoeryClient } from "@effect-qoery/client"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 *
 * const QoeryLive = QoeryClient.layer({ apiKey: process.env.QOERY_API_KEY }).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<QoeryClient, QoeryError.InvalidInput, HttpClient.HttpClient> => Layer.effect(QoeryClient, make(options))

/** A blank variable counts as unset. */
const nonBlank = <A>(config: Config.Config<A>, text: (a: A) => string): Config.Config<A> =>
  Config.mapOrFail(
    config,
    (a) => text(a).trim() === "" ? Either.left(ConfigError.MissingData([], "blank")) : Either.right(a)
  )

/**
 * `QOERY_API_KEY`, as `Redacted`; missing when unset or blank. The one reading
 * of the variable: `config` and the CLI's `--api-key` fall back to it.
 *
 * @since 0.1.0
 * @category config
 */
export const apiKeyConfig: Config.Config<Redacted.Redacted> = nonBlank(
  Config.redacted("QOERY_API_KEY"),
  Redacted.value
)

/**
 * `QOERY_BASE_URL`; missing when unset or blank. The one reading of the
 * variable: `config` and the CLI's `--base-url` fall back to it.
 *
 * @since 0.1.0
 * @category config
 */
export const baseUrlConfig: Config.Config<string> = nonBlank(Config.string("QOERY_BASE_URL"), (url) => url)

/**
 * The connection as the environment gives it (the layer and the Promise API
 * use it): `apiKeyConfig`, absent when missing, and `baseUrlConfig`,
 * `https://api.qoery.com` when missing. Read from the `ConfigProvider`, so a
 * test provides it.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<{
  readonly apiKey: Redacted.Redacted | undefined
  readonly baseUrl: string
}> = Config.all({
  apiKey: Config.map(Config.option(apiKeyConfig), Option.getOrUndefined),
  baseUrl: Config.withDefault(baseUrlConfig, defaultBaseUrl)
})

/**
 * The client configured from the environment (see `config`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<
  QoeryClient,
  QoeryError.InvalidInput | ConfigError.ConfigError,
  HttpClient.HttpClient
> = Layer.effect(QoeryClient, Effect.flatMap(config, (options) => make(options)))
