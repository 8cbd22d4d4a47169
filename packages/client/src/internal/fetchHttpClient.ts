/**
 * An `HttpClient` over a WHATWG `fetch`, for the status poll where `fetch`
 * is the transport (the Promise API given a `fetch`, a runtime without
 * undici). Besides what every lean transport leaves out
 * (`./httpTransport.ts`), its response reads the body once, with no cached
 * effect run per response, and parses the headers once, where
 * `@effect/platform`'s parses them at every read.
 *
 * It honours `@effect/platform`'s `FetchHttpClient.Fetch` and
 * `FetchHttpClient.RequestInit` in the request's context, as
 * `FetchHttpClient.layer` does, so code written for one works on the other.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as PlatformFetch from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as Transport from "./httpTransport.js"

class Response extends Transport.Response {
  constructor(
    request: HttpClientRequest.HttpClientRequest,
    private readonly source: globalThis.Response,
    private readonly controller: AbortController
  ) {
    super(request, source.status)
  }

  private parsedHeaders: Headers.Headers | undefined
  get headers(): Headers.Headers {
    return this.parsedHeaders ??= Headers.fromInput(this.source.headers as unknown as Headers.Input)
  }

  get cookies(): Cookies.Cookies {
    const setCookie = this.source.headers.getSetCookie()
    return setCookie.length === 0 ? Cookies.empty : Cookies.fromSetCookie(setCookie)
  }

  /** The whole body, read once whatever reads it; interrupting the wait aborts the request. */
  private bytes: Promise<ArrayBuffer> | undefined
  private read<A>(f: (bytes: ArrayBuffer) => A): Effect.Effect<A, HttpClientError.ResponseError> {
    return Effect.async((resume) => {
      ;(this.bytes ??= this.source.arrayBuffer()).then(
        (bytes) => resume(Effect.succeed(f(bytes))),
        (cause) => resume(Effect.fail(this.error(cause)))
      )
      return Effect.sync(() => this.controller.abort())
    })
  }

  private cachedText: string | undefined
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    if (this.cachedText !== undefined) return Effect.succeed(this.cachedText)
    return this.read((bytes) => this.cachedText ??= decoder.decode(bytes))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.read((bytes) => bytes)
  }

  /** The body as it arrives; ending or interrupting the stream before the body's end cancels it. */
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    const body = this.source.body
    if (body === null) return Stream.empty
    return Stream.fromReadableStream({ evaluate: () => body, onError: (cause) => this.error(cause) })
  }
}

const decoder = new TextDecoder()

const requestBody = (
  body: HttpClientRequest.HttpClientRequest["body"],
  fiber: Fiber.RuntimeFiber<unknown, unknown>
): BodyInit | undefined => {
  switch (body._tag) {
    case "Empty":
      return undefined
    case "Raw":
    case "Uint8Array":
      return body.body as BodyInit
    case "FormData":
      return body.formData
    case "Stream":
      return Stream.toReadableStreamRuntime(
        body.stream,
        Runtime.make({
          context: fiber.currentContext,
          fiberRefs: fiber.getFiberRefs(),
          runtimeFlags: Runtime.defaultRuntimeFlags
        })
      )
  }
}

/** The client over `fetch`, unless the request's context has a `FetchHttpClient.Fetch`. */
export const make = (fetch?: typeof globalThis.fetch): HttpClient.HttpClient =>
  Transport.make((request, fiber) => {
    const url = Transport.urlOf(request)
    if (typeof url !== "string") return Effect.fail(url)
    const services = fiber.currentContext.unsafeMap
    const send: typeof globalThis.fetch = services.get(PlatformFetch.Fetch.key) ?? fetch ?? globalThis.fetch
    const init: globalThis.RequestInit | undefined = services.get(PlatformFetch.RequestInit.key)
    let headers: Headers.Headers = init?.headers === undefined
      ? request.headers
      : Headers.merge(Headers.fromInput(init.headers as Headers.Input), request.headers)
    if (headers["content-length"] !== undefined) headers = Headers.remove(headers, "content-length")
    return Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
      const controller = new AbortController()
      let done = false
      const body = requestBody(request.body, fiber)
      const fail = (cause: unknown) => {
        done = true
        resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
      }
      let sent: Promise<globalThis.Response>
      try {
        sent = send(url, {
          ...init,
          method: request.method,
          headers: headers as Record<string, string>,
          ...(body === undefined ? {} : { body }),
          ...(request.body._tag === "Stream" ? { duplex: "half" } : {}),
          signal: controller.signal
        } as globalThis.RequestInit)
      } catch (cause) {
        return fail(cause)
      }
      sent.then((response) => {
        done = true
        resume(Effect.succeed(new Response(request, response, controller)))
      }, fail)
      return Effect.sync(() => {
        if (!done) controller.abort()
      })
    })
  })
