/**
 * What real HTTP stacks do, shown by the emulator over loopback: compressed
 * bodies, `Retry-After` on any status and route, bodies of any size.
 */
import { Dataset, Emulator, Faults } from "@effect-qoery/emulator"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as http from "node:http"
import * as zlib from "node:zlib"

const key = Emulator.demoApiKey

interface Raw {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  /** The bytes as they came over the wire (still compressed). */
  readonly body: Buffer
}

/** A request with node:http, which neither asks for nor undoes compression by itself. */
const get = (url: string, headers: http.OutgoingHttpHeaders = {}): Effect.Effect<Raw> =>
  Effect.async<Raw>((resume) => {
    const request = http.get(url, { headers }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resume(
          Effect.succeed({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) })
        ))
      response.on("error", (e) => resume(Effect.die(e)))
    })
    request.on("error", (e) => resume(Effect.die(e)))
  })

/** A request that reads the body and keeps only its size and its first and last bytes. */
const measure = (url: string, onChunk: () => void = () => {}) =>
  Effect.async<{ status: number; headers: http.IncomingHttpHeaders; size: number; head: string; tail: string }>(
    (resume) => {
      http.get(url, (response) => {
        let size = 0
        let head = ""
        let tail = Buffer.alloc(0)
        response.on("data", (chunk: Buffer) => {
          if (head.length < 4096) head += chunk.subarray(0, 4096).toString("utf8")
          size += chunk.length
          tail = Buffer.concat([tail, chunk]).subarray(-4096)
          onChunk()
        })
        response.on("end", () =>
          resume(Effect.succeed({
            status: response.statusCode!,
            headers: response.headers,
            size,
            head,
            tail: tail.toString("utf8")
          })))
      }).on("error", (e) => resume(Effect.die(e)))
    }
  )

const decompress = (raw: Raw): string => {
  switch (raw.headers["content-encoding"]) {
    case "gzip":
      return zlib.gunzipSync(raw.body).toString("utf8")
    case "br":
      return zlib.brotliDecompressSync(raw.body).toString("utf8")
    case "deflate":
      return zlib.inflateSync(raw.body).toString("utf8")
    case undefined:
      return raw.body.toString("utf8")
    default:
      return assert.fail(`unexpected content-encoding ${raw.headers["content-encoding"]}`)
  }
}

const startJob = (baseUrl: string, search: string) =>
  Effect.map(get(`${baseUrl}/v0/datasets?search=${encodeURIComponent(search)}&api_key=${key}`), (raw) => {
    assert.strictEqual(raw.status, 200, raw.body.toString())
    return JSON.parse(decompress(raw)).job_id as string
  })

describe("compress", () => {
  for (const compress of [true, "chunked"] as const) {
    layer(Emulator.layer({ jobDuration: 1_000, compress }))(`compress: ${compress}`, (it) => {
      it.effect("CSV and JSON bodies in the coding the request accepts, with a length that fits the wire bytes", () =>
        Effect.gen(function*() {
          const { baseUrl, expectedCsv, stats } = yield* Emulator.Emulator
          const id = yield* startJob(baseUrl, "climate change statistics")
          yield* TestClock.adjust(1_000)
          const csvUrl = `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`
          const statusUrl = `${baseUrl}/v0/datasets/${id}?api_key=${key}`
          const plain = yield* get(csvUrl)
          assert.isUndefined(plain.headers["content-encoding"], "no Accept-Encoding: identity")
          assert.strictEqual(plain.headers["vary"], "accept-encoding")
          const csv = plain.body.toString("utf8")
          assert.strictEqual(csv, Option.getOrThrow(yield* expectedCsv(id)))
          const statusText = (yield* get(statusUrl)).body.toString("utf8")
          assert.strictEqual(JSON.parse(statusText).status, "completed")

          const cases: ReadonlyArray<[string, string | undefined]> = [
            ["gzip, deflate", "gzip"],
            ["gzip, deflate, br", "br"],
            ["deflate", "deflate"],
            ["br;q=0.5, gzip;q=0.8", "gzip"],
            ["gzip;q=0, deflate", "deflate"],
            ["*", "br"],
            ["*;q=0", undefined],
            ["identity", undefined],
            ["compress, zstd", undefined]
          ]
          for (const [accept, expected] of cases) {
            for (const url of [csvUrl, statusUrl]) {
              const raw = yield* get(url, { "accept-encoding": accept })
              assert.strictEqual(raw.status, 200)
              assert.strictEqual(raw.headers["content-encoding"], expected, `${accept} on ${url}`)
              assert.strictEqual(decompress(raw), url === csvUrl ? csv : statusText, accept)
              if (compress === true) {
                assert.strictEqual(raw.headers["content-length"], String(raw.body.length), "the wire length")
              } else {
                assert.isUndefined(raw.headers["content-length"])
                assert.strictEqual(raw.headers["transfer-encoding"], "chunked")
              }
              if (expected !== undefined) assert.isBelow(raw.body.length, Buffer.byteLength(decompress(raw)))
            }
          }
          // errors and the other routes are compressed too
          const notFound = yield* get(`${baseUrl}/v0/datasets/20200101_000000?api_key=${key}`, {
            "accept-encoding": "gzip"
          })
          assert.strictEqual(notFound.status, 404)
          assert.strictEqual(notFound.headers["content-encoding"], "gzip")
          assert.strictEqual(JSON.parse(decompress(notFound)).error, "Job not found")
          const plans = yield* get(`${baseUrl}/v0/plans`, { "accept-encoding": "gzip" })
          assert.strictEqual(plans.headers["content-encoding"], "gzip")
          assert.property(JSON.parse(decompress(plans)), "plans")
          // 6 of the 9 cases compress, on 2 routes, then the 404 and the plans
          assert.strictEqual((yield* stats).compressedResponses, 6 * 2 + 2)
        }))

      it.effect("fetch, which asks for gzip and undoes it, reads the same bytes", () =>
        Effect.gen(function*() {
          const { baseUrl } = yield* Emulator.Emulator
          const id = yield* startJob(baseUrl, "fetch reads it")
          yield* TestClock.adjust(1_000)
          const url = `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`
          const viaFetch = yield* Effect.promise(async () => {
            const response = await fetch(url)
            return { encoding: response.headers.get("content-encoding"), text: await response.text() }
          })
          assert.strictEqual(viaFetch.encoding, "gzip")
          assert.strictEqual(viaFetch.text, Dataset.csv("fetch reads it", Dataset.rows("fetch reads it").length))
        }))
    })
  }

  layer(Emulator.layer({ jobDuration: 1_000, compress: true, admin: true }))("compress with faults", (it) => {
    it.effect("a truncated compressed body is cut in its compressed bytes, and the decoder says it is incomplete", () =>
      Effect.gen(function*() {
        const { baseUrl, setFaults } = yield* Emulator.Emulator
        const id = yield* startJob(baseUrl, "cut while compressed")
        yield* TestClock.adjust(1_000)
        yield* setFaults("csv", Faults.times({ kind: "truncate" }))
        const cut = yield* Effect.async<{ announced: number; got: Buffer }>((resume) => {
          http.get(
            `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`,
            { headers: { "accept-encoding": "gzip" } },
            (r) => {
              const chunks: Array<Buffer> = []
              r.on("data", (c: Buffer) => chunks.push(c))
              const done = () =>
                resume(Effect.succeed({ announced: Number(r.headers["content-length"]), got: Buffer.concat(chunks) }))
              r.on("error", done)
              r.on("close", done)
            }
          ).on("error", () => {})
        })
        assert.isBelow(cut.got.length, cut.announced)
        assert.throws(() => zlib.gunzipSync(cut.got), /unexpected end/i)
      }))
  })
})

describe("Retry-After", () => {
  layer(Emulator.layer({ jobDuration: 1_000 }))("on every route", (it) => {
    it.effect("seconds, a string as given, or an HTTP-date from the emulator's clock, on any status", () =>
      Effect.gen(function*() {
        const { baseUrl, setFaults } = yield* Emulator.Emulator
        const id = yield* startJob(baseUrl, "retry after")
        const urls: Record<Faults.Route, string> = {
          start: `${baseUrl}/v0/datasets?search=x&api_key=${key}`,
          info: `${baseUrl}/v0/datasets?api_key=${key}`,
          status: `${baseUrl}/v0/datasets/${id}?api_key=${key}`,
          csv: `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`,
          usage: `${baseUrl}/v0/usage?api_key=${key}`,
          plans: `${baseUrl}/v0/plans`,
          health: `${baseUrl}/health`,
          root: `${baseUrl}/`
        }
        yield* TestClock.adjust(5_000)
        for (const route of Faults.routes) {
          for (const status of [200, 404, 429, 500, 502, 503, 504]) {
            yield* setFaults(route, {
              _tag: "Script",
              faults: [
                { kind: "status", status, retryAfter: 7 },
                { kind: "status", status, retryAfter: "Fri, 31 Dec 1999 23:59:59 GMT" },
                { kind: "status", status, retryAfterDate: 3 }
              ]
            })
            const seconds = yield* get(urls[route])
            assert.strictEqual(seconds.status, status, route)
            assert.strictEqual(seconds.headers["retry-after"], "7", `${route} ${status}`)
            const verbatim = yield* get(urls[route])
            assert.strictEqual(verbatim.headers["retry-after"], "Fri, 31 Dec 1999 23:59:59 GMT")
            const date = yield* get(urls[route])
            assert.strictEqual(date.status, status)
            // the TestClock is at 5 s after the epoch: 3 s later
            assert.strictEqual(date.headers["retry-after"], "Thu, 01 Jan 1970 00:00:08 GMT")
            assert.strictEqual(Date.parse(date.headers["retry-after"]!), 8_000)
            assert.isUndefined((yield* get(urls[route])).headers["retry-after"], "normal again")
          }
        }
      }))
  })
})

describe("hugeBody", () => {
  layer(Emulator.layer({ jobDuration: 1_000, compress: true }))("a body of any size", (it) => {
    it.effect("on status: a valid status whose query fills the body, exactly the bytes asked for", () =>
      Effect.gen(function*() {
        const { baseUrl, setFaults } = yield* Emulator.Emulator
        const id = yield* startJob(baseUrl, "huge status")
        const bytes = 5 * 1024 * 1024 + 3
        yield* setFaults("status", Faults.times({ kind: "hugeBody", bytes }))
        const raw = yield* get(`${baseUrl}/v0/datasets/${id}?api_key=${key}`, { "accept-encoding": "gzip" })
        assert.strictEqual(raw.status, 200)
        assert.isUndefined(raw.headers["content-encoding"], "never compressed")
        assert.strictEqual(raw.headers["content-length"], String(bytes))
        assert.strictEqual(raw.body.length, bytes)
        const status = JSON.parse(raw.body.toString("utf8"))
        assert.strictEqual(status.job_id, id)
        assert.strictEqual(status.status, "processing")
        assert.isAbove(status.query.length, bytes - 2_000)
        assert.match(status.query, /^x+$/)
      }))

    it.effect("on csv: one huge quoted field, or many rows; chunked without a length", () =>
      Effect.gen(function*() {
        const { baseUrl, setFaults } = yield* Emulator.Emulator
        const id = yield* startJob(baseUrl, "huge csv")
        yield* TestClock.adjust(1_000)
        const url = `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`
        const bytes = 3 * 1024 * 1024
        yield* setFaults("csv", Faults.times({ kind: "hugeBody", bytes }))
        const field = yield* get(url)
        assert.strictEqual(field.body.length, bytes)
        const text = field.body.toString("utf8")
        assert.isTrue(text.startsWith(`${Dataset.header}https://example.org/huge,"xxx`))
        assert.isTrue(text.endsWith(`x",1,huge,\r\n`))

        yield* setFaults("csv", Faults.times({ kind: "hugeBody", bytes, shape: "rows", chunked: true }))
        const rows = yield* get(url)
        assert.isUndefined(rows.headers["content-length"])
        assert.strictEqual(rows.headers["transfer-encoding"], "chunked")
        assert.isAtMost(rows.body.length, bytes)
        assert.isAbove(rows.body.length, bytes - 100)
        const lines = rows.body.toString("utf8").split("\r\n")
        assert.strictEqual(`${lines[0]}\r\n`, Dataset.header)
        assert.strictEqual(lines.at(-1), "")
        assert.isTrue(lines.slice(1, -1).every((line) => line === "https://example.org/huge,a row,1,huge,"))

        yield* setFaults("usage", Faults.times({ kind: "hugeBody", bytes: 1000 }))
        const usage = yield* get(`${baseUrl}/v0/usage?api_key=${key}`)
        assert.strictEqual(usage.body.length, 1000)
        assert.match(JSON.parse(usage.body.toString("utf8")).padding, /^x+$/)
      }))
  })

  layer(Emulator.layer({ jobDuration: 1_000 }), { excludeTestServices: true })("a body of any size, live", (it) => {
    it.effect("is streamed: 256 MB go out without the emulator holding them", () =>
      Effect.gen(function*() {
        const { baseUrl, setFaults } = yield* Emulator.Emulator
        const id = yield* startJob(baseUrl, "huge streamed")
        const bytes = 256 * 1024 * 1024
        yield* setFaults("status", Faults.times({ kind: "hugeBody", bytes }))
        const before = process.memoryUsage().arrayBuffers
        let peak = before
        const result = yield* measure(`${baseUrl}/v0/datasets/${id}?api_key=${key}`, () => {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers)
        })
        assert.strictEqual(result.size, bytes)
        assert.isTrue(result.head.startsWith(`{"job_id":"${id}"`))
        assert.isTrue(result.tail.endsWith("}"))
        // A body held whole would add its 256 MB; a streamed one a few chunks (and the reader's garbage).
        assert.isBelow(peak - before, bytes / 4, `${((peak - before) / 2 ** 20).toFixed(0)} MB held`)
      }), 120_000)
  })
})
