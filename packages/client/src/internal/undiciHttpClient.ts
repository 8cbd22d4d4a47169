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
 *
 * A body sent with a `Content-Encoding` of gzip (x-gzip), deflate or br,
 * asked for or not, is decoded as undici's `fetch` decodes it (several
 * codings undone in reverse order, any other coding passed through as it
 * came, the header kept); an identity body never meets a decoder.
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
import { Transform, type TransformCallback } from "node:stream"
import * as Zlib from "node:zlib"
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
  /** The decoder of a content-encoded body, which then gives the chunks. */
  decoder: Decoder | undefined = undefined
  /** The connection's part is over (completed or failed), whatever the decoder still has to give. */
  wireDone = false

  cancel(): void {
    if (this.ended || this.aborted) return
    this.aborted = true
    this.decoder?.destroy()
    if (!this.wireDone) this.abort?.(new Error("the request was interrupted"))
  }
  fail(failure: unknown): void {
    if (this.failure === undefined) this.failure = failure
    this.notify()
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

/** The `Content-Encoding` of a response, its lines joined; `undefined` when it has none. */
const contentEncoding = (rawHeaders: ReadonlyArray<Buffer>): string | undefined => {
  let value: string | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    // "content-encoding" is 16 bytes: any other name is passed over without being read.
    if (rawHeaders[i]!.length === 16 && latin1(rawHeaders, i).toLowerCase() === "content-encoding") {
      value = value === undefined ? latin1(rawHeaders, i + 1) : `${value},${latin1(rawHeaders, i + 1)}`
    }
  }
  return value
}

/** As undici's `fetch`: more codings than this fail the body (CVE-2022-32206 in curl). */
const maxContentEncodings = 5

/** Statuses whose response has no body, so nothing to decode (fetch's null body statuses). */
const nullBodyStatus = (status: number) => status === 204 || status === 205 || status === 304

// Lenient as browsers and curl are: a body that ends without the coding's trailer gives what it has.
const zlibOptions = { flush: Zlib.constants.Z_SYNC_FLUSH, finishFlush: Zlib.constants.Z_SYNC_FLUSH }
const brotliOptions = {
  flush: Zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: Zlib.constants.BROTLI_OPERATION_FLUSH
}

/** `deflate` as servers send it: zlib-wrapped as the RFC says, or raw, told by the first byte (as undici's fetch). */
class Inflate extends Transform {
  private inflate: Zlib.Inflate | Zlib.InflateRaw | undefined
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inflate === undefined) {
      if (chunk.length === 0) return callback()
      const inflate = this.inflate = (chunk[0]! & 0x0f) === 0x08
        ? Zlib.createInflate(zlibOptions)
        : Zlib.createInflateRaw(zlibOptions)
      inflate.on("data", (data: Buffer) => {
        if (!this.push(data)) inflate.pause()
      })
      inflate.on("end", () => this.push(null))
      inflate.on("error", (error) => this.destroy(error))
    }
    this.inflate.write(chunk, callback)
  }
  override _read(size: number): void {
    this.inflate?.resume()
    super._read(size)
  }
  override _final(callback: TransformCallback): void {
    if (this.inflate === undefined) return callback()
    this.inflate.end()
    callback()
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inflate?.destroy()
    callback(error)
  }
}

/** The decompressors for `codings` (in the order they were applied), or `undefined` if one is not known here. */
const decompressors = (codings: ReadonlyArray<string>): Array<Transform> | undefined => {
  const stages: Array<Transform> = []
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!.trim()
    if (coding === "gzip" || coding === "x-gzip") stages.push(Zlib.createGunzip(zlibOptions))
    else if (coding === "deflate") stages.push(new Inflate())
    else if (coding === "br") stages.push(Zlib.createBrotliDecompress(brotliOptions))
    else return undefined
  }
  return stages
}

/**
 * The decompressors between the connection and the body: the connection's
 * chunks go in (undici pauses while the first one is full), the decoded ones
 * come out into the body, counted there against the high-water mark and the
 * unread limit as an identity body's are (a paused reader pauses the last
 * decompressor, and so, stage by stage, the connection).
 */
class Decoder {
  private readonly first: Transform
  private readonly last: Transform
  private wirePaused = false

  constructor(private readonly stages: ReadonlyArray<Transform>, body: Body, resumeWire: () => void) {
    this.first = stages[0]!
    this.last = stages[stages.length - 1]!
    for (let i = 0; i + 1 < stages.length; i++) stages[i]!.pipe(stages[i + 1]!)
    const failed = (error: Error) => {
      body.fail(error)
      body.cancel()
    }
    for (const stage of stages) stage.on("error", failed)
    this.first.on("drain", () => {
      if (!this.wirePaused) return
      this.wirePaused = false
      resumeWire()
    })
    const last = this.last
    last.on("data", (chunk: Buffer) => {
      body.chunks.push(chunk)
      body.buffered += chunk.length
      body.notify()
      if (body.streaming) {
        if (body.buffered > highWaterMark) {
          body.paused = true
          last.pause()
        }
      } else if (body.buffered > unreadLimit && body.waiter === undefined) {
        body.fail(new Error(`more than ${unreadLimit} decoded bytes of a response body were left unread`))
        body.cancel()
      }
    })
    last.on("end", () => {
      body.ended = true
      body.notify()
    })
    body.resume = () => last.resume()
  }

  /** One chunk from the connection; `false` pauses the connection until the first stage drains. */
  write(chunk: Buffer): boolean {
    if (this.first.write(chunk)) return true
    this.wirePaused = true
    return false
  }
  end(): void {
    this.first.end()
  }
  destroy(): void {
    for (const stage of this.stages) stage.destroy()
  }
}

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
        const encoding = contentEncoding(rawHeaders)
        if (encoding !== undefined && request.method !== "HEAD" && !nullBodyStatus(statusCode)) {
          const codings = encoding.toLowerCase().split(",")
          if (codings.length > maxContentEncodings) {
            body.fail(
              new Error(`too many content-encodings in response: ${codings.length}, at most ${maxContentEncodings}`)
            )
            body.cancel()
          } else {
            const stages = decompressors(codings)
            if (stages !== undefined) body.decoder = new Decoder(stages, body, resumeBody)
          }
        }
        resume(Effect.succeed(new Response(request, statusCode, rawHeaders, body)))
        return true
      },
      onData(chunk) {
        if (body.decoder !== undefined) return body.aborted || body.decoder.write(chunk)
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
        body.wireDone = true
        if (body.decoder !== undefined) return body.decoder.end()
        body.ended = true
        body.notify()
      },
      onError(error) {
        if (!started) {
          started = true
          resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: error })))
          return
        }
        body.wireDone = true
        body.decoder?.destroy()
        body.fail(error)
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
