/**
 * The client's two lean transports, held to the same behaviour: each is an
 * ordinary `HttpClient`, against a real server on loopback.
 */
import * as FetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient as PlatformFetch, HttpClient, HttpClientRequest } from "@effect/platform"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, type Layer, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end()
let server: http.Server
let baseUrl = ""

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

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
