/**
 * The client's two lean transports, held to the same behaviour: each is an
 * ordinary `HttpClient`, against a real server on loopback.
 */
import * as FetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient as PlatformFetch, HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, type Layer, Stream } from "effect"
import * as crypto from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"

let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end()
let server: http.Server
let baseUrl = ""

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/** Content codings as a server applies them, unasked (S3 serving an object stored gzipped, a proxy). */
const codings: ReadonlyArray<readonly [string, (bytes: Buffer) => Buffer]> = [
  ["gzip", (bytes) => zlib.gzipSync(bytes)],
  ["x-gzip", (bytes) => zlib.gzipSync(bytes)],
  ["br", (bytes) => zlib.brotliCompressSync(bytes)],
  ["deflate", (bytes) => zlib.deflateSync(bytes)],
  // Raw deflate, without the zlib wrapper the RFC asks for, as some servers send it.
  ["deflate", (bytes) => zlib.deflateRawSync(bytes)],
  // Applied in this order (gzip, then br), undone in the reverse.
  ["gzip, br", (bytes) => zlib.brotliCompressSync(zlib.gzipSync(bytes))]
]

/** A CSV of random text, so its gzip is about as large as it is. */
const csvRows = (from: number, count: number) => {
  let text = ""
  for (let i = from; i < from + count; i++) text += `${i},${crypto.randomBytes(36).toString("base64")}\n`
  return text
}

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["UndiciHttpClient", UndiciHttpClient.layer],
  ["FetchHttpClient", FetchHttpClient.layer]
]

describe.each(transports)("%s", (_name, layer) => {
  const run = <A, E>(f: (client: HttpClient.HttpClient) => Effect.Effect<A, E>) =>
    Effect.flatMap(HttpClient.HttpClient, f).pipe(Effect.provide(layer))

  it.live("sends the method, headers, query and body, and reads status, headers and text", () =>
    Effect.gen(function*() {
      let seen: { method?: string; url?: string; header?: string | undefined; body: string } = { body: "" }
      handler = (req, res) => {
        let body = ""
        req.on("data", (c) => body += c)
        req.on("end", () => {
          seen = { method: req.method!, url: req.url!, header: req.headers["x-test"] as string | undefined, body }
          res.writeHead(201, [["Content-Type", "application/json"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]])
          res.end(JSON.stringify({ ok: "é" }))
        })
      }
      const response = yield* run((client) =>
        client.execute(
          HttpClientRequest.post(`${baseUrl}/path`, { urlParams: { q: "a b" } }).pipe(
            HttpClientRequest.setHeader("x-test", "yes"),
            HttpClientRequest.bodyUnsafeJson({ hello: "world" })
          )
        )
      )
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.headers["content-type"], "application/json")
      assert.deepStrictEqual(yield* response.json, { ok: "é" })
      assert.strictEqual(yield* response.text, JSON.stringify({ ok: "é" }))
      assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
      assert.deepStrictEqual(seen, { method: "POST", url: "/path?q=a+b", header: "yes", body: "{\"hello\":\"world\"}" })
    }))

  it.live("reads a body as text and as bytes, in either order, from one read", () =>
    Effect.gen(function*() {
      let requests = 0
      handler = (_req, res) => {
        requests++
        res.end("héllo")
      }
      const bytes = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer))
      const utf8 = Array.from(new TextEncoder().encode("héllo"))
      const first = yield* run((client) => client.get(`${baseUrl}/a`))
      assert.strictEqual(yield* first.text, "héllo")
      assert.deepStrictEqual(bytes(yield* first.arrayBuffer), utf8)
      const second = yield* run((client) => client.get(`${baseUrl}/b`))
      assert.deepStrictEqual(bytes(yield* second.arrayBuffer), utf8)
      assert.strictEqual(yield* second.text, "héllo")
      assert.strictEqual(requests, 2)
    }))

  it.live("stays an HttpClient that middleware wraps", () =>
    Effect.gen(function*() {
      handler = (req, res) => res.end(req.headers["x-added"] as string)
      const text = yield* run((client) =>
        client.pipe(
          HttpClient.mapRequest(HttpClientRequest.setHeader("x-added", "by middleware")),
          HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl))
        ).get("/").pipe(Effect.flatMap((r) => r.text))
      )
      assert.strictEqual(text, "by middleware")
    }))

  it.live("streams a large body in order, all of it", () =>
    Effect.gen(function*() {
      const chunk = "x".repeat(64 * 1024)
      handler = (_req, res) => {
        let i = 0
        const write = () => {
          while (i < 64) {
            if (!res.write(`${String(i++).padStart(4, "0")}${chunk}`)) return res.once("drain", write)
          }
          res.end()
        }
        write()
      }
      const bytes = yield* run((client) =>
        client.get(baseUrl).pipe(
          Effect.flatMap((r) => Stream.runCollect(r.stream)),
          Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))
        )
      )
      assert.strictEqual(bytes.length, 64 * (4 + chunk.length))
      assert.strictEqual(bytes.subarray((4 + chunk.length) * 63, (4 + chunk.length) * 63 + 4).toString(), "0063")
    }))

  it.live("interrupting a request in flight aborts it", () =>
    Effect.gen(function*() {
      let closed = false
      let arrived = false
      handler = (req) => {
        arrived = true
        req.socket.on("close", () => closed = true)
      }
      const fiber = yield* Effect.fork(run((client) => client.get(baseUrl)))
      while (!arrived) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 100 && !closed; i++) yield* Effect.sleep("10 millis")
      assert.isTrue(closed, "the server saw the connection close")
    }))

  it.live("interrupting the read of a body aborts the request", () =>
    Effect.gen(function*() {
      let closed = false
      handler = (req, res) => {
        req.socket.on("close", () => closed = true)
        res.writeHead(200)
        res.write("partial")
      }
      const fiber = yield* Effect.fork(run((client) => Effect.flatMap(client.get(baseUrl), (r) => r.text)))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 100 && !closed; i++) yield* Effect.sleep("10 millis")
      assert.isTrue(closed, "the server saw the connection close")
    }))

  it.live("a refused connection is a RequestError, a cut body a ResponseError", () =>
    Effect.gen(function*() {
      const refused = yield* run((client) => Effect.flip(client.get("http://127.0.0.1:1/")))
      assert.strictEqual(refused._tag, "RequestError")
      handler = (req, res) => {
        res.writeHead(200, { "content-length": "100" })
        res.write("short")
        setTimeout(() => req.socket.destroy(), 20)
      }
      const cut = yield* run((client) => Effect.flip(Effect.flatMap(client.get(baseUrl), (r) => r.text)))
      assert.strictEqual(cut._tag, "ResponseError")
    }))

  it.live("decodes a gzip, deflate or br body it did not ask for, with or without Content-Length, however it is read", () =>
    Effect.gen(function*() {
      const json = JSON.stringify({ status: "completed", title: "é".repeat(5_000) })
      for (const [coding, compress] of codings) {
        for (const withLength of [true, false]) {
          const encoded = compress(Buffer.from(json))
          handler = (_req, res) => {
            res.writeHead(200, {
              "content-type": "application/json",
              "content-encoding": coding,
              ...(withLength ? { "content-length": String(encoded.length) } : {})
            })
            // In two writes, so a body without a length comes in more than one chunk.
            res.write(encoded.subarray(0, 10))
            res.end(encoded.subarray(10))
          }
          const what = `${coding}, ${withLength ? "with" : "without"} a length`
          const response = yield* run((client) => client.get(baseUrl))
          assert.strictEqual(response.headers["content-encoding"], coding, what)
          assert.strictEqual(yield* response.text, json, what)
          assert.deepStrictEqual(yield* response.json, JSON.parse(json), what)
          const bytes = yield* run((client) => Effect.flatMap(client.get(baseUrl), (r) => r.arrayBuffer))
          assert.strictEqual(Buffer.from(bytes).toString(), json, what)
          const streamed = yield* run((client) =>
            Effect.flatMap(client.get(baseUrl), (r) => Stream.runCollect(r.stream))
          )
          assert.strictEqual(Buffer.concat(Chunk.toReadonlyArray(streamed)).toString(), json, what)
        }
      }
    }))

  it.live("passes a body in a coding it does not know through as it came, and an empty encoded body is empty", () =>
    Effect.gen(function*() {
      const sent = zlib.gzipSync("not undone")
      for (const coding of ["compress", "gzip, identity", "zstd-unknown"]) {
        handler = (_req, res) => {
          res.writeHead(200, { "content-encoding": coding })
          res.end(sent)
        }
        const bytes = yield* run((client) => Effect.flatMap(client.get(baseUrl), (r) => r.arrayBuffer))
        assert.deepStrictEqual(Buffer.from(bytes), sent, coding)
      }
      handler = (_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip", "content-length": "0" })
        res.end()
      }
      assert.strictEqual(yield* run((client) => Effect.flatMap(client.get(baseUrl), (r) => r.text)), "")
    }))

  it.live("a corrupt gzip body is a ResponseError, read whole or as a stream, not a hang", () =>
    Effect.gen(function*() {
      const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), crypto.randomBytes(4_000)])
      handler = (_req, res) => {
        res.writeHead(200, { "content-encoding": "gzip", "content-length": String(corrupt.length) })
        res.end(corrupt)
      }
      const whole = yield* run((client) => Effect.flip(Effect.flatMap(client.get(baseUrl), (r) => r.text)))
      assert.strictEqual(whole._tag, "ResponseError")
      const streamed = yield* run((client) =>
        Effect.flip(Effect.flatMap(client.get(baseUrl), (r) => Stream.runDrain(r.stream)))
      )
      assert.strictEqual(streamed._tag, "ResponseError")
    }).pipe(Effect.timeout("5 seconds")))

  it.live("streams a large gzip CSV whole, in order", () =>
    Effect.gen(function*() {
      const csv = csvRows(0, 100_000)
      const gzipped = zlib.gzipSync(csv, { level: 1 })
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip" })
        res.end(gzipped)
      }
      const bytes = yield* run((client) =>
        Effect.flatMap(client.get(baseUrl), (r) => Stream.runCollect(r.stream)).pipe(
          Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))
        )
      )
      assert.strictEqual(bytes.length, Buffer.byteLength(csv))
      assert.isTrue(bytes.equals(Buffer.from(csv)), "the decoded bytes are the CSV's")
    }))

  it.live("a gzip stream its reader stops pulling holds the server back, and ending it aborts the request", () =>
    Effect.gen(function*() {
      // 800 blocks of 64 KB (50 MB), from 16 random ones: each is larger than gzip's window, so none shrinks.
      const blocks = Array.from({ length: 16 }, (_, i) => csvRows(i * 1_200, 1_200))
      const total = 800
      let produced = 0
      let closed = false
      handler = (req, res) => {
        req.socket.on("close", () => closed = true)
        res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip" })
        const gzip = zlib.createGzip({ level: 1 })
        gzip.pipe(res)
        const write = () => {
          while (produced < total && !closed) {
            if (!gzip.write(blocks[produced++ % blocks.length])) return gzip.once("drain", write)
          }
          gzip.end()
        }
        write()
      }
      yield* run((client) =>
        Effect.scoped(Effect.gen(function*() {
          const response = yield* client.get(baseUrl)
          const pull = yield* Stream.toPull(response.stream)
          assert.isAbove((yield* pull).length, 0)
          // The reader holds on: the server is soon stuck on a full connection (five samples alike), far short of the end.
          let seen = -1
          for (let still = 0, i = 0; still < 5 && i < 200; i++) {
            still = produced === seen ? still + 1 : 0
            seen = produced
            yield* Effect.sleep("100 millis")
          }
          assert.isBelow(produced, total / 2, "the server was held back by the unread body")
        }))
      )
      for (let i = 0; i < 100 && !closed; i++) yield* Effect.sleep("10 millis")
      assert.isTrue(closed, "the server saw the connection close")
    }))
})

describe("FetchHttpClient", () => {
  const run = <A, E>(f: (client: HttpClient.HttpClient) => Effect.Effect<A, E>) =>
    Effect.flatMap(HttpClient.HttpClient, f).pipe(Effect.provide(FetchHttpClient.layer))

  it.live("honours @effect/platform's RequestInit (a redirect not followed) and Fetch", () =>
    Effect.gen(function*() {
      handler = (req, res) => {
        if (req.url === "/from") {
          res.writeHead(302, { location: "/to" })
          return res.end()
        }
        res.end("followed")
      }
      const manual = yield* run((client) => client.get(`${baseUrl}/from`)).pipe(
        Effect.provideService(PlatformFetch.RequestInit, { redirect: "manual" })
      )
      assert.strictEqual(manual.status, 302)
      const followed = yield* run((client) => Effect.flatMap(client.get(`${baseUrl}/from`), (r) => r.text))
      assert.strictEqual(followed, "followed")
      const urls: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        urls.push(String(input))
        return globalThis.fetch(input, init)
      }
      yield* run((client) => client.get(`${baseUrl}/to`)).pipe(Effect.provideService(PlatformFetch.Fetch, recording))
      assert.deepStrictEqual(urls, [`${baseUrl}/to`])
    }))

  it.live("a fetch that throws at once is a RequestError, not a defect", () =>
    Effect.gen(function*() {
      const throwing: typeof globalThis.fetch = () => {
        throw new TypeError("no network here")
      }
      const error = yield* Effect.flip(
        Effect.flatMap(HttpClient.HttpClient, (client) => client.get(baseUrl)).pipe(
          Effect.provide(FetchHttpClient.layer),
          Effect.provideService(PlatformFetch.Fetch, throwing)
        )
      )
      assert.strictEqual(error._tag, "RequestError")
    }))
})
