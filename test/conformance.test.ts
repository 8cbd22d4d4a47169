/**
 * Spec conformance of the emulator: every operation in every state, each
 * status and JSON body validated against the response schema the spec gives
 * for that path, method and status (ajv, compiled from the spec files).
 *
 * Time is the TestClock: jobs move only when the test adjusts it, so each
 * state is reached exactly.
 */
import { Emulator } from "@effect-qoery/emulator"
import { assert, describe } from "@effect/vitest"
import { Ajv } from "ajv"
import addFormatsModule from "ajv-formats"
import { Effect, TestClock } from "effect"
import { componentSchema, layerSpec, spec } from "./support/spec.js"

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/**
 * OpenAPI 3.0-isms to JSON Schema: drop `example`/`examples`/`x-*`, turn
 * `nullable: true` into a union with null, and, as the spec's README says,
 * accept `null` in an optional field as if it were absent.
 */
const toJsonSchema = (node: any): any => {
  if (Array.isArray(node)) return node.map(toJsonSchema)
  if (node === null || typeof node !== "object") return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (k === "example" || k === "examples" || k === "nullable" || k.startsWith("x-")) continue
    out[k] = k === "properties"
      ? Object.fromEntries(Object.entries(v as object).map(([name, s]) => [name, toJsonSchema(s)]))
      : toJsonSchema(v)
  }
  if (out.properties !== undefined) {
    const required = new Set((out.required as Array<string> | undefined) ?? [])
    const props = out.properties as Record<string, unknown>
    for (const name of Object.keys(props)) {
      if (!required.has(name)) props[name] = { anyOf: [props[name], { type: "null" }] }
    }
  }
  return node.nullable === true ? { anyOf: [out, { type: "null" }] } : out
}

const ajv = addFormats(new Ajv({ strict: false, allErrors: true }))
const validators = new Map<string, ReturnType<Ajv["compile"]>>()

const responseSpec = (path: string, method: string, status: number) => {
  const operation = spec().paths[path]?.[method]
  assert.isDefined(operation, `the spec has no ${method.toUpperCase()} ${path}`)
  const response = operation.responses[String(status)]
  assert.isDefined(
    response,
    `${method.toUpperCase()} ${path} answered ${status}, which the spec does not list (${
      Object.keys(operation.responses).join(", ")
    })`
  )
  return response
}

const validator = (path: string, method: string, status: number) => {
  const key = `${method} ${path} ${status}`
  let validate = validators.get(key)
  if (validate === undefined) {
    const schema = responseSpec(path, method, status).content["application/json"].schema
    validate = ajv.compile(toJsonSchema(schema))
    validators.set(key, validate)
  }
  return validate
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

const call = (
  url: string,
  init: RequestInit = {}
): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  })

/**
 * The steps the spec lists in `current_step`'s description. The schema types the step as any string (clients
 * must take a new one), but the emulator stands for today's service: it sends only these.
 */
const listedSteps = (): ReadonlyArray<string> =>
  [...String(componentSchema("JobProgress").properties.current_step.description).matchAll(/^\s*- `([^`]+)`:/gm)]
    .map((m) => m[1]!)

/** Asserts the status is listed for the operation and the JSON body matches the schema of that response. */
const conforms = (answer: Answer, path: string, method: string, status: number) => {
  assert.strictEqual(answer.status, status, `${method.toUpperCase()} ${path}: ${answer.text.slice(0, 300)}`)
  const content = responseSpec(path, method, status).content
  if (content["application/json"] !== undefined) {
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/)
    const validate = validator(path, method, status)
    const ok = validate(answer.json)
    assert.isTrue(
      ok,
      `${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`
    )
    if (path === statusPath && status === 200) {
      assert.include(listedSteps(), (answer.json as any).progress.current_step, "a step the spec does not list")
    }
  }
  return answer.json as any
}

const rateLimitHeaders = (answer: Answer, limit: number) => {
  assert.strictEqual(answer.headers.get("x-ratelimit-limit"), String(limit))
  const remaining = Number(answer.headers.get("x-ratelimit-remaining"))
  assert.isTrue(Number.isInteger(remaining) && remaining >= 0 && remaining <= limit)
  const reset = answer.headers.get("x-ratelimit-reset") ?? ""
  assert.match(reset, /^\d{4}-\d{2}-01T00:00:00Z$/)
}

const key = Emulator.demoApiKey
const quota = 10_000
const duration = 10_000

const statusPath = "/v0/datasets/{job_id}"
const csvPath = "/v0/datasets/{job_id}/csv"

layerSpec(Emulator.layer({ jobDuration: duration, quota }))("conformance", (it) => {
  const base = Effect.map(Emulator.Emulator, (e) => e.baseUrl)

  const start = (search: string) =>
    Effect.gen(function*() {
      const url = yield* base
      const answer = yield* call(`${url}/v0/datasets`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ search })
      })
      return conforms(answer, "/v0/datasets", "post", 200).job_id as string
    })

  describe("the validator", () => {
    it("rejects what breaks the spec and accepts null in optional fields, as the spec's README says", () => {
      const validate = validator(statusPath, "get", 200)
      const example =
        spec().paths[statusPath].get.responses["200"].content["application/json"].examples.processing.value
      assert.isTrue(validate(example), ajv.errorsText(validate.errors))
      assert.isFalse(validate({ ...example, job_id: "2025-11-10" }))
      assert.isFalse(validate({ ...example, status: "exploded" }))
      assert.isFalse(validate({ ...example, progress: { ...example.progress, rows_collected: -1 } }))
      const { query: _, ...withoutQuery } = example
      assert.isFalse(validate(withoutQuery))
      assert.isFalse(validate({ ...example, job_id: null }))
      // The spec types current_step as any string, so the schema takes a new step; `conforms` checks the list.
      assert.isTrue(validate({ ...example, progress: { ...example.progress, current_step: "uploading" } }))
      assert.deepStrictEqual(listedSteps(), ["initializing", "searching", "scraping", "processing", "finalizing"])
    })
  })

  describe("unauthenticated endpoints", () => {
    it.effect("GET /, /health and /v0/plans", () =>
      Effect.gen(function*() {
        const url = yield* base
        conforms(yield* call(`${url}/`), "/", "get", 200)
        const health = conforms(yield* call(`${url}/health`), "/health", "get", 200)
        assert.strictEqual(health.status, "ok")
        const plans = conforms(yield* call(`${url}/v0/plans`), "/v0/plans", "get", 200)
        assert.property(plans.plans, plans.default_plan)
      }))
  })

  describe("GET|POST /v0/datasets", () => {
    it.effect("answers the API info without search and starts a job with it", () =>
      Effect.gen(function*() {
        const url = yield* base
        const info = yield* call(`${url}/v0/datasets`, { headers: { "x-api-key": key } })
        assert.property(conforms(info, "/v0/datasets", "get", 200), "endpoints")
        rateLimitHeaders(info, quota)
        const viaGet = yield* call(`${url}/v0/datasets?search=ocean%20temperatures&api_key=${key}`)
        const started = conforms(viaGet, "/v0/datasets", "get", 200)
        assert.strictEqual(started.status, "processing")
        assert.isNumber(started.polling_interval_ms)
        rateLimitHeaders(viaGet, quota)
        const viaPost = yield* call(`${url}/v0/datasets`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ search: "ocean temperatures" })
        })
        assert.notStrictEqual(conforms(viaPost, "/v0/datasets", "post", 200).job_id, started.job_id)
      }))

    it.effect("400 for a missing or empty search and for a body that is not JSON", () =>
      Effect.gen(function*() {
        const url = yield* base
        const post = (body: string | undefined, contentType = "application/json") =>
          call(`${url}/v0/datasets`, {
            method: "POST",
            headers: { "x-api-key": key, "content-type": contentType },
            ...(body === undefined ? {} : { body })
          })
        const missing = conforms(yield* post(undefined), "/v0/datasets", "post", 400)
        assert.strictEqual(missing.error, "Search parameter is required")
        conforms(yield* post("{}"), "/v0/datasets", "post", 400)
        const empty = conforms(yield* post(JSON.stringify({ search: "" })), "/v0/datasets", "post", 400)
        assert.strictEqual(empty.error, "Search parameter must be a non-empty string")
        conforms(yield* post(JSON.stringify({ search: 42 })), "/v0/datasets", "post", 400)
        const tooLong = conforms(
          yield* post(JSON.stringify({ search: "x".repeat(2_001) })),
          "/v0/datasets",
          "post",
          400
        )
        assert.strictEqual(tooLong.error, "Search parameter is too long")
        conforms(yield* post("{\"search\": "), "/v0/datasets", "post", 400)
        conforms(yield* post("search=x", "application/x-www-form-urlencoded"), "/v0/datasets", "post", 400)
        conforms(yield* call(`${url}/v0/datasets?search=&api_key=${key}`), "/v0/datasets", "get", 400)
      }))

    it.effect("401 for a missing and an invalid key", () =>
      Effect.gen(function*() {
        const url = yield* base
        const missing = conforms(yield* call(`${url}/v0/datasets?search=x`), "/v0/datasets", "get", 401)
        assert.match(missing.error, /API key required/)
        const invalid = yield* call(`${url}/v0/datasets`, {
          method: "POST",
          headers: { "x-api-key": "not-a-key", "content-type": "application/json" },
          body: JSON.stringify({ search: "x" })
        })
        assert.strictEqual(conforms(invalid, "/v0/datasets", "post", 401).error, "Invalid API key")
        conforms(
          yield* call(`${url}/v0/datasets`, { headers: { authorization: "Bearer nope" } }),
          "/v0/datasets",
          "get",
          401
        )
      }))
  })

  describe("GET /v0/datasets/{job_id} and its CSV", () => {
    it.effect("processing (CSV not ready, then partial), completed (full CSV)", () =>
      Effect.gen(function*() {
        const url = yield* base
        const id = yield* start("climate change statistics")
        const get = (path: string) => call(`${url}${path}`, { headers: { "x-api-key": key } })

        const initial = yield* get(`/v0/datasets/${id}`)
        const first = conforms(initial, statusPath, "get", 200)
        rateLimitHeaders(initial, quota)
        assert.strictEqual(first.status, "processing")
        assert.strictEqual(first.progress.current_step, "initializing")
        assert.strictEqual(first.job_id, id)
        assert.strictEqual(first.csv_url, `/v0/datasets/${id}/csv`)
        assert.isNull(first.error)
        assert.isNull(first.completed_at)
        const notReady = conforms(yield* get(`/v0/datasets/${id}/csv`), csvPath, "get", 404)
        assert.strictEqual(notReady.error, "CSV not ready yet")

        yield* TestClock.adjust(duration * 0.5)
        const scraping = conforms(yield* get(`/v0/datasets/${id}`), statusPath, "get", 200)
        assert.strictEqual(scraping.status, "processing")
        assert.strictEqual(scraping.progress.current_step, "scraping")
        assert.isAbove(scraping.progress.rows_collected, 0)
        const partial = yield* get(`/v0/datasets/${id}/csv`)
        assert.strictEqual(partial.status, 200)
        assert.match(partial.headers.get("content-type") ?? "", /^text\/csv/)
        assert.match(partial.headers.get("content-disposition") ?? "", /^attachment; filename="[^"]+\.csv"$/)
        rateLimitHeaders(partial, quota)
        assert.isTrue(partial.text.startsWith("url,title,value,dimension,timestamp\r\n"))

        yield* TestClock.adjust(duration)
        const done = conforms(yield* get(`/v0/datasets/${id}`), statusPath, "get", 200)
        assert.strictEqual(done.status, "completed")
        assert.isString(done.completed_at)
        assert.isNull(done.error)
        const full = yield* get(`/v0/datasets/${id}/csv`)
        assert.strictEqual(full.status, 200)
        assert.isAbove(full.text.length, partial.text.length)
        const expected = yield* Effect.flatMap(Emulator.Emulator, (e) => e.expectedCsv(id))
        assert.strictEqual(full.text, expected._tag === "Some" ? expected.value : "")
      }))

    it.effect("error (a query with the word fail), its partial CSV still downloadable", () =>
      Effect.gen(function*() {
        const url = yield* base
        const id = yield* start("please fail this one")
        yield* TestClock.adjust(duration)
        const failed = conforms(
          yield* call(`${url}/v0/datasets/${id}?api_key=${key}`),
          statusPath,
          "get",
          200
        )
        assert.strictEqual(failed.status, "error")
        assert.strictEqual(failed.progress.current_step, "scraping")
        assert.isString(failed.error)
        assert.isString(failed.completed_at)
        const csv = yield* call(`${url}/v0/datasets/${id}/csv?api_key=${key}`)
        assert.strictEqual(csv.status, 200)
        assert.isAbove(csv.text.split("\r\n").length, 2)
      }))

    it.effect("404 for an unknown job, on status and CSV; 401 without a valid key", () =>
      Effect.gen(function*() {
        const url = yield* base
        const unknown = "20251110_151628"
        const status = conforms(yield* call(`${url}/v0/datasets/${unknown}?api_key=${key}`), statusPath, "get", 404)
        assert.strictEqual(status.error, "Job not found")
        assert.strictEqual(status.details, `No job found with ID: ${unknown}`)
        const csv = conforms(yield* call(`${url}/v0/datasets/${unknown}/csv?api_key=${key}`), csvPath, "get", 404)
        assert.strictEqual(csv.error, "Job not found")
        conforms(yield* call(`${url}/v0/datasets/${unknown}`), statusPath, "get", 401)
        conforms(yield* call(`${url}/v0/datasets/${unknown}?api_key=wrong`), statusPath, "get", 401)
        conforms(yield* call(`${url}/v0/datasets/${unknown}/csv`), csvPath, "get", 401)
        conforms(
          yield* call(`${url}/v0/datasets/${unknown}/csv`, { headers: { "x-api-key": "x" } }),
          csvPath,
          "get",
          401
        )
      }))
  })

  describe("GET /v0/usage", () => {
    it.effect("200 with the X-RateLimit headers, 401 for an invalid key, 400 without key or uid", () =>
      Effect.gen(function*() {
        const url = yield* base
        const answer = yield* call(`${url}/v0/usage`, { headers: { "x-api-key": key } })
        const usage = conforms(answer, "/v0/usage", "get", 200)
        rateLimitHeaders(answer, quota)
        assert.isAbove(usage.totalUsage, 0)
        const byUid = yield* call(`${url}/v0/usage?uid=${usage.user_id}`)
        assert.strictEqual(conforms(byUid, "/v0/usage", "get", 200).user_id, usage.user_id)
        conforms(yield* call(`${url}/v0/usage?api_key=wrong`), "/v0/usage", "get", 401)
        conforms(yield* call(`${url}/v0/usage`), "/v0/usage", "get", 400)
      }))
  })
})

layerSpec(Emulator.layer({ jobDuration: duration, quota: 2 }))("conformance over quota", (it) => {
  it.effect("429 with reset_date on the 1st of next month once the key's quota for the endpoint is spent", () =>
    Effect.gen(function*() {
      const { baseUrl: url } = yield* Emulator.Emulator
      const start = () =>
        call(`${url}/v0/datasets`, {
          method: "POST",
          headers: { "x-api-key": key, "content-type": "application/json" },
          body: JSON.stringify({ search: "quota" })
        })
      const id = conforms(yield* start(), "/v0/datasets", "post", 200).job_id
      conforms(yield* start(), "/v0/datasets", "post", 200)
      const over = yield* start()
      const body = conforms(over, "/v0/datasets", "post", 429)
      assert.strictEqual(body.error, "Monthly quota exceeded")
      assert.match(body.reset_date, /^\d{4}-\d{2}-01T00:00:00Z$/)
      assert.strictEqual(over.headers.get("x-ratelimit-remaining"), "0")
      conforms(yield* call(`${url}/v0/datasets?api_key=${key}`), "/v0/datasets", "get", 429)
      // other endpoints have their own quota
      for (let i = 0; i < 2; i++) {
        conforms(yield* call(`${url}/v0/datasets/${id}?api_key=${key}`), statusPath, "get", 200)
      }
      conforms(yield* call(`${url}/v0/datasets/${id}?api_key=${key}`), statusPath, "get", 429)
      for (let i = 0; i < 2; i++) {
        conforms(yield* call(`${url}/v0/datasets/${id}/csv?api_key=${key}`), csvPath, "get", 404)
      }
      conforms(yield* call(`${url}/v0/datasets/${id}/csv?api_key=${key}`), csvPath, "get", 429)
    }))
})
