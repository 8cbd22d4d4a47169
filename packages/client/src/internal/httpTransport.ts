/**
 * What the lean transports (`UndiciHttpClient`, `FetchHttpClient`) share:
 * the `HttpClient` around a `send`, with the platform's tracing contract (a
 * client span per request unless the tracer is off or
 * `HttpClient.withTracerDisabledWhen` says so), and the response members
 * that are the same whatever carries the bytes.
 *
 * What `@effect/platform`'s `HttpClient.make` does per request, and these do
 * not: a `URL` parse (a URL with no query params and no hash is passed on as
 * it is), a `FinalizationRegistry` entry, and a wrapper around the response.
 */
import type * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"

/** The request's URL as a string: as it is when it has no query params and no hash, else built and checked. */
export const urlOf = (request: HttpClientRequest.HttpClientRequest): string | HttpClientError.RequestError => {
  if (request.urlParams.length === 0 && Option.isNone(request.hash)) return request.url
  const parsed = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
  return parsed._tag === "Right"
    ? parsed.right.toString()
    : new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: parsed.left })
}

/** The attributes `@effect/platform`'s client gives its span, the headers redacted as it does. */
const spanAttributes = (
  span: Tracer.Span,
  request: HttpClientRequest.HttpClientRequest,
  redacted: ReadonlyArray<string | RegExp>
) => {
  span.attribute("http.request.method", request.method)
  const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
  if (url._tag === "Right") {
    const { origin, pathname, port, protocol, search } = url.right
    span.attribute("server.address", origin)
    if (port !== "") span.attribute("server.port", Number(port))
    span.attribute("url.full", url.right.toString())
    span.attribute("url.path", pathname)
    span.attribute("url.scheme", protocol.slice(0, -1))
    if (search.length > 1) span.attribute("url.query", search.slice(1))
  }
  const headers = Headers.redact(request.headers, redacted)
  for (const name in headers) span.attribute(`http.request.header.${name}`, String(headers[name]))
}

/** An `HttpClient` that sends each request with `send`, in a client span (as the platform's) when tracing is on. */
export const make = (
  send: (
    request: HttpClientRequest.HttpClientRequest,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
): HttpClient.HttpClient =>
  HttpClient.makeWith(
    (effect) =>
      Effect.flatMap(effect, (request) =>
        Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
          const tracing = fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
            !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
          if (!tracing) {
            return send(request, fiber)
          }
          const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
          return Effect.useSpan(name, { kind: "client", captureStackTrace: false }, (span) => {
            const redacted = fiber.getFiberRef(Headers.currentRedactedNames)
            spanAttributes(span, request, redacted)
            const traced = fiber.getFiberRef(HttpClient.currentTracerPropagation)
              ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
              : request
            return Effect.tap(Effect.withParentSpan(send(traced, fiber), span), (response) => {
              span.attribute("http.response.status_code", response.status)
              const headers = Headers.redact(response.headers, redacted)
              for (const name in headers) {
                span.attribute(`http.response.header.${name}`, String(headers[name]))
              }
            })
          })
        })),
    Effect.succeed as HttpClient.HttpClient.Preprocess<never, never>
  )

/** A response: a transport gives the status, the headers and the body; the ways to read the body follow. */
export abstract class Response extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId

  constructor(readonly request: HttpClientRequest.HttpClientRequest, readonly status: number) {
    super()
  }

  abstract readonly headers: Headers.Headers
  abstract readonly cookies: Cookies.Cookies
  abstract readonly text: Effect.Effect<string, HttpClientError.ResponseError>
  abstract readonly arrayBuffer: Effect.Effect<ArrayBuffer, HttpClientError.ResponseError>
  abstract readonly stream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  protected error(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(
      this.text,
      (text) =>
        Effect.try({ try: () => text === "" ? null : JSON.parse(text) as unknown, catch: (cause) => this.error(cause) })
    )
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.error(cause)
      }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.arrayBuffer, (buffer) =>
      Effect.tryPromise({
        try: () =>
          new globalThis.Response(buffer, { headers: this.headers as Record<string, string> }).formData() as Promise<
            FormData
          >,
        catch: (cause) => this.error(cause)
      }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}
