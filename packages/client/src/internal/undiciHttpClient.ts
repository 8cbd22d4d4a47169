/**
 * An `HttpClient` straight over an undici `Dispatcher`, for the status poll:
 * the request goes to `dispatcher.dispatch` with a handler of our own, and
 * the body is gathered as it arrives, so a small JSON answer is read without
 * a stream, a Promise or an `AbortController`. Interruption aborts through
 * undici's own `abort`. Headers are parsed only when read.
 *
 * Besides what every lean transport leaves out (`./httpTransport.ts`), this
 * one avoids an `AbortController` and undici's `request()` (a `Readable`
 * body and a Promise).
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import type * as Undici from "undici"
import * as Transport from "./httpTransport.js"

type Bytes = Buffer

/** Bytes buffered ahead of a stream's reader before the connection is paused. */
const highWaterMark = 256 * 1024
/** Bytes of a body that nobody reads before the request is aborted (a body is read, or dropped). */
const unreadLimit = 16 * 1024 * 1024

// An absolute http(s) URL whose path and query need no normalising: split as a string, not parsed as a URL.
const simpleUrl = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?(?=\/|$)/
const simplePath = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/

const target = (
  request: HttpClientRequest.HttpClientRequest
): { readonly origin: string; readonly path: string } | URL | HttpClientError.RequestError => {
  const url = request.url
  if (request.urlParams.length === 0 && Option.isNone(request.hash)) {
    const origin = simpleUrl.exec(url)
    if (origin !== null) {
      const path = url.slice(origin[0].length)
      if (simplePath.test(path)) return { origin: origin[0], path: path === "" ? "/" : path }
    }
  }
  const parsed = UrlParams.makeUrl(url, request.urlParams, request.hash)
  return parsed._tag === "Right"
    ? parsed.right
    : new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: parsed.left })
}

/** What the handler and the response share: the body as it comes, and the means to pause or abort it. */
class Body {
  readonly chunks: Array<Bytes> = []
  buffered = 0
  ended = false
  failure: unknown = undefined
  /** Called once on the next chunk, end or failure. */
  waiter: (() => void) | undefined = undefined
  abort: ((reason?: Error) => void) | undefined = undefined
  resume: (() => void) | undefined = undefined
  paused = false
  aborted = false
  /** A stream reads the body: pause at the high-water mark rather than abort at the unread limit. */
  streaming = false

  cancel(): void {
    if (this.ended || this.aborted) return
    this.aborted = true
    this.abort?.(new Error("the request was interrupted"))
  }
  notify(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
  take(): Array<Bytes> {
    const taken = this.chunks.splice(0)
    this.buffered = 0
    if (this.paused) {
      this.paused = false
      this.resume?.()
    }
    return taken
  }
}

const latin1 = (buffers: ReadonlyArray<Buffer>, i: number) => buffers[i]!.toString("latin1")

class Response extends Transport.Response {
  constructor(
    request: HttpClientRequest.HttpClientRequest,
    status: number,
    private readonly rawHeaders: ReadonlyArray<Buffer>,
    readonly body: Body
  ) {
    super(request, status)
  }

  private parsedHeaders: Headers.Headers | undefined
  get headers(): Headers.Headers {
    if (this.parsedHeaders !== undefined) return this.parsedHeaders
    const record: Record<string, string> = {}
    for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
      const name = latin1(this.rawHeaders, i).toLowerCase()
      const value = latin1(this.rawHeaders, i + 1)
      record[name] = record[name] === undefined
        ? value
        : name === "set-cookie"
        ? record[name]
        : `${record[name]}, ${value}`
    }
    return this.parsedHeaders = Headers.unsafeFromRecord(record)
  }

  get cookies(): Cookies.Cookies {
    const setCookie: Array<string> = []
    for (let i = 0; i + 1 < this.rawHeaders.length; i += 2) {
      if (latin1(this.rawHeaders, i).toLowerCase() === "set-cookie") setCookie.push(latin1(this.rawHeaders, i + 1))
    }
    return setCookie.length === 0 ? Cookies.empty : Cookies.fromSetCookie(setCookie)
  }

  private collected: Array<Bytes> | undefined
  /** The whole body; interrupting the wait aborts the request. */
  private all(): Effect.Effect<Array<Bytes>, HttpClientError.ResponseError> {
    const body = this.body
    if (this.collected !== undefined) return Effect.succeed(this.collected)
    if (body.ended) return Effect.succeed(this.collected = body.take())
    if (body.failure !== undefined) return Effect.fail(this.error(body.failure))
    return Effect.async<Array<Bytes>, HttpClientError.ResponseError>((resume) => {
      const gathered: Array<Bytes> = []
      const wait = () => {
        for (const chunk of body.take()) gathered.push(chunk)
        if (body.ended) resume(Effect.succeed(this.collected = gathered))
        else if (body.failure !== undefined) resume(Effect.fail(this.error(body.failure)))
        else body.waiter = wait
      }
      wait()
      return Effect.sync(() => {
        body.waiter = undefined
        body.cancel()
      })
    })
  }

  private cachedText: string | undefined
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    if (this.cachedText !== undefined) return Effect.succeed(this.cachedText)
    return Effect.map(this.all(), (chunks) =>
      this.cachedText = chunks.length === 1
        ? chunks[0]!.toString("utf8")
        : Buffer.concat(chunks).toString("utf8"))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.all(), (chunks) => {
      const all = Buffer.concat(chunks)
      return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer
    })
  }

  /** The body as it arrives; ending or interrupting the stream before the body's end aborts the request. */
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    const body = this.body
    body.streaming = true
    const pull = Effect.async<ReadonlyArray<Uint8Array>, Option.Option<HttpClientError.ResponseError>>((resume) => {
      const wait = () => {
        if (body.chunks.length > 0) return resume(Effect.succeed(body.take()))
        if (body.ended) return resume(Effect.fail(Option.none()))
        if (body.failure !== undefined) return resume(Effect.fail(Option.some(this.error(body.failure))))
        body.waiter = wait
      }
      wait()
      return Effect.sync(() => {
        body.waiter = undefined
      })
    })
    return Stream.repeatEffectChunkOption(Effect.map(pull, (chunks) => Chunk.unsafeFromArray(chunks))).pipe(
      Stream.ensuring(Effect.sync(() => body.cancel()))
    )
  }
}

const requestBody = (
  body: HttpBody.HttpBody,
  fiber: Fiber.RuntimeFiber<unknown, unknown>
): Exclude<Undici.Dispatcher.DispatchOptions["body"], undefined> => {
  switch (body._tag) {
    case "Empty":
      return null
    case "Uint8Array":
      return body.body
    case "Raw":
      return body.body as Uint8Array
    case "FormData":
      return body.formData as any
    case "Stream":
      return Stream.toAsyncIterableRuntime(Runtime.make({
        context: fiber.currentContext,
        fiberRefs: fiber.getFiberRefs(),
        runtimeFlags: Runtime.defaultRuntimeFlags
      }))(body.stream) as any // undici takes any async iterable of bytes
  }
}

const dispatch = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  origin: string,
  path: string,
  fiber: Fiber.RuntimeFiber<unknown, unknown>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    const body = new Body()
    let started = false
    const handler: Undici.Dispatcher.DispatchHandler = {
      onConnect(abort) {
        body.abort = abort
        if (body.aborted) abort(new Error("the request was interrupted"))
      },
      onHeaders(statusCode, rawHeaders, resumeBody) {
        if (statusCode < 200) return true
        started = true
        body.resume = resumeBody
        resume(Effect.succeed(new Response(request, statusCode, rawHeaders, body)))
        return true
      },
      onData(chunk) {
        body.chunks.push(chunk)
        body.buffered += chunk.length
        body.notify()
        if (body.streaming) {
          if (body.buffered > highWaterMark) body.paused = true
        } else if (body.buffered > unreadLimit && body.waiter === undefined) {
          body.failure = new Error(`more than ${unreadLimit} bytes of a response body were left unread`)
          body.cancel()
        }
        return !body.paused
      },
      onComplete() {
        body.ended = true
        body.notify()
      },
      onError(error) {
        if (!started) {
          started = true
          resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: error })))
          return
        }
        body.failure = error
        body.notify()
      }
    }
    try {
      dispatcher.dispatch({
        origin,
        path,
        method: request.method as Undici.Dispatcher.HttpMethod,
        headers: request.headers as Record<string, string>,
        body: requestBody(request.body, fiber),
        // timeouts are Effect's (the client's per-request timeout)
        headersTimeout: 0,
        bodyTimeout: 0
      }, handler)
    } catch (cause) {
      started = true
      return resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
    }
    return Effect.sync(() => {
      if (!started) body.cancel()
    })
  })

/** The client over `dispatcher`. */
export const make = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient =>
  Transport.make((request, fiber) => {
    const to = target(request)
    if (to instanceof HttpClientError.RequestError) return Effect.fail(to)
    const path = to instanceof URL ? to.pathname + to.search + to.hash : to.path
    return dispatch(dispatcher, request, to.origin, path, fiber)
  })
