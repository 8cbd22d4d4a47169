import { JobStatus, Payloads } from "@effect-qoery/client"
import { assert, it } from "@effect/vitest"
import { DateTime, Duration, Either, ParseResult, Schema } from "effect"
import { allResponseExamples, componentSchema, describeSpec, responseExamples, spec } from "./support/spec.js"

const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => Schema.decodeUnknownEither(schema)(input)
const errorOf = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => {
  const result = decode(schema, input)
  assert.isTrue(Either.isLeft(result), "should be rejected")
  return ParseResult.TreeFormatter.formatErrorSync((result as Either.Left<ParseResult.ParseError, A>).left)
}
/** The values a description lists as "- `value`: meaning" lines. */
const listedValues = (description: string): Array<string> =>
  [...description.matchAll(/^\s*- `([^`]+)`:/gm)].map((m) => m[1]!)

const encode = <A, I>(schema: Schema.Schema<A, I>, value: A) => Schema.encodeSync(schema)(value)

/** `null` in an optional field means absent (the spec's README). */
const withoutNulls = (value: any): any =>
  Array.isArray(value)
    ? value.map(withoutNulls)
    : value !== null && typeof value === "object"
    ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]))
    : value

describeSpec("JobStatus", () => {
  const statusExamples = allResponseExamples("/v0/datasets/{job_id}", "get", "200")

  it("the spec has the three status examples", () => {
    assert.deepStrictEqual(Object.keys(statusExamples).sort(), ["completed", "error", "processing"])
  })

  it("decodes each example of the spec to its class, with camelCase fields and DateTime.Utc", () => {
    const processing = Schema.decodeUnknownSync(JobStatus.JobStatus)(statusExamples.processing)
    assert.instanceOf(processing, JobStatus.Processing)
    assert.strictEqual(processing.jobId, "20251110_151628")
    assert.strictEqual(processing.progress.currentStep, "scraping")
    assert.strictEqual(processing.progress.rowsCollected, 1250)
    assert.isTrue(DateTime.isDateTime(processing.startedAt))
    assert.strictEqual(DateTime.formatIso(processing.progress.lastUpdated), "2025-11-10T15:16:45.000Z")
    assert.isFalse(JobStatus.isTerminal(processing))
    assert.notProperty(processing, "error")
    assert.notProperty(processing, "completedAt")

    const completed = Schema.decodeUnknownSync(JobStatus.JobStatus)(statusExamples.completed)
    assert.instanceOf(completed, JobStatus.Completed)
    assert.isTrue(JobStatus.isTerminal(completed))
    assert.strictEqual(
      completed.status === "completed" && completed.completedAt?.epochMillis,
      Date.parse("2025-11-10T15:18:12Z")
    )

    const failed = Schema.decodeUnknownSync(JobStatus.JobStatus)(statusExamples.error)
    assert.instanceOf(failed, JobStatus.Failed)
    assert.strictEqual(failed.status === "error" && failed.error, "Failed to scrape URL: Connection timeout")
    assert.strictEqual(failed.status === "error" && failed.completedAt?.epochMillis, Date.parse("2025-11-10T15:17:05Z"))
  })

  it("encoding a decoded example gives the wire JSON back (null optional fields read as absent)", () => {
    for (const example of Object.values(statusExamples)) {
      const decoded = Schema.decodeUnknownSync(JobStatus.JobStatus)(example)
      assert.deepStrictEqual(encode(JobStatus.JobStatus, decoded), withoutNulls(example))
      assert.deepStrictEqual(
        Schema.decodeUnknownSync(JobStatus.JobStatus)(encode(JobStatus.JobStatus, decoded)),
        decoded
      )
    }
  })

  it("accepts absent optional fields and unknown extra fields", () => {
    const { completed_at: _, error: __, ...rest } = statusExamples.processing as any
    assert.isTrue(Either.isRight(decode(JobStatus.JobStatus, { ...rest, extra: { anything: 1 }, score: 3 })))
    const { completed_at: ___, ...noEnd } = statusExamples.completed as any
    assert.isTrue(Either.isRight(decode(JobStatus.JobStatus, noEnd)))
  })

  const base = statusExamples.processing as any
  const cases: ReadonlyArray<[string, unknown, string]> = [
    ["an unknown status", { ...base, status: "paused" }, "status"],
    ["a step that is not a string", { ...base, progress: { ...base.progress, current_step: 3 } }, "current_step"],
    ["a negative counter", { ...base, progress: { ...base.progress, rows_collected: -1 } }, "rows_collected"],
    ["a non-integer counter", { ...base, progress: { ...base.progress, urls_total: 1.5 } }, "urls_total"],
    ["a counter as a string", { ...base, progress: { ...base.progress, urls_processed: "8" } }, "urls_processed"],
    ["a bad timestamp", { ...base, started_at: "yesterday" }, "started_at"],
    ["an impossible timestamp", { ...base, started_at: "2025-02-30T10:00:00Z" }, "started_at"],
    [
      "a nested bad timestamp",
      { ...base, progress: { ...base.progress, last_updated: "2025-11-10 15:16" } },
      "last_updated"
    ],
    ["a bad job id", { ...base, job_id: "20251310_151628" }, "job_id"],
    ["a missing field", { ...base, query: undefined }, "query"],
    ["urls that are not strings", { ...base, urls: [1] }, "urls"]
  ]
  for (const [what, input, key] of cases) {
    it(`rejects ${what}, naming the path`, () => {
      assert.include(errorOf(JobStatus.JobStatus, input), key)
    })
  }

  it("current_step is a plain string in the spec, its description lists JobStatus.steps, in order", () => {
    const schema = componentSchema("JobProgress").properties.current_step
    assert.strictEqual(schema.type, "string")
    assert.isUndefined(schema.enum, "the spec made the step an enum: make JobStatus.Step strict again")
    assert.deepStrictEqual(listedValues(schema.description), [...JobStatus.steps])
    // The status itself is a real enum: it stays strict.
    assert.deepStrictEqual(componentSchema("JobStatus").properties.status.enum, ["processing", "completed", "error"])
  })

  it("decodes a step the client does not know (a newer service), as it came", () => {
    const input = { ...base, progress: { ...base.progress, current_step: "uploading" } }
    const decoded = Schema.decodeUnknownSync(JobStatus.JobStatus)(input)
    assert.strictEqual(decoded.progress.currentStep, "uploading")
    assert.isFalse(JobStatus.isKnownStep(decoded.progress.currentStep))
    assert.deepStrictEqual(encode(JobStatus.JobStatus, decoded), withoutNulls(input))
    const other = Schema.decodeUnknownSync(JobStatus.JobStatus)(base)
    assert.isFalse(JobStatus.equivalence(decoded, other), "a change of step is a change")
  })

  it("a failed job without a message still decodes as Failed", () => {
    const { error: _, ...rest } = statusExamples.error as any
    const failed = Schema.decodeUnknownSync(JobStatus.JobStatus)(rest)
    assert.strictEqual(failed.status, "error")
  })

  it("match and equivalence", () => {
    const [p, c] = [statusExamples.processing, statusExamples.completed].map((e) =>
      Schema.decodeUnknownSync(JobStatus.JobStatus)(e)
    )
    const describe = JobStatus.match({ onProcessing: () => "p", onCompleted: () => "c", onFailed: () => "f" })
    assert.strictEqual(describe(p!), "p")
    assert.strictEqual(describe(c!), "c")
    assert.isTrue(JobStatus.equivalence(p!, Schema.decodeUnknownSync(JobStatus.JobStatus)(statusExamples.processing)))
    assert.isFalse(JobStatus.equivalence(p!, c!))
  })
})

describeSpec("the other payloads", () => {
  it("JobStarted: the start examples, with the polling interval as a Duration", () => {
    const example = responseExamples("/v0/datasets", "post", "200").example
    const started = Schema.decodeUnknownSync(JobStatus.JobStarted)(example)
    assert.isTrue(Duration.equals(started.pollingInterval!, Duration.millis(1500)))
    assert.deepStrictEqual(encode(JobStatus.JobStarted, started), example)
    const viaGet = responseExamples("/v0/datasets", "get", "200")
    assert.deepStrictEqual(
      encode(JobStatus.JobStarted, Schema.decodeUnknownSync(JobStatus.JobStarted)(viaGet.jobStarted)),
      viaGet.jobStarted
    )
    assert.include(
      errorOf(JobStatus.JobStarted, { ...(example as any), polling_interval_ms: -5 }),
      "polling_interval_ms"
    )
  })

  it("ApiInfo", () => {
    const example = responseExamples("/v0/datasets", "get", "200").apiInfo
    assert.deepStrictEqual(encode(Payloads.ApiInfo, Schema.decodeUnknownSync(Payloads.ApiInfo)(example)), example)
  })

  it("every error example of the spec decodes as ErrorResponse, the 429 with its reset date", () => {
    const responses = spec().components.responses
    let count = 0
    for (const response of Object.values(responses) as Array<any>) {
      const content = response.content["application/json"]
      const examples = content.examples ? Object.values(content.examples).map((e: any) => e.value) : [content.example]
      for (const example of examples) {
        const decoded = Schema.decodeUnknownSync(Payloads.ErrorResponse)(example)
        assert.deepStrictEqual(encode(Payloads.ErrorResponse, decoded), example)
        count++
      }
    }
    assert.isAtLeast(count, 7)
    const quota = Schema.decodeUnknownSync(Payloads.ErrorResponse)(
      responses.RateLimitError.content["application/json"].example
    )
    assert.strictEqual(quota.resetDate?.epochMillis, Date.parse("2025-12-01T00:00:00Z"))
  })

  it("UsageStats, PlansResponse (nullable prices, api_keys as a number or a word) and HealthResponse", () => {
    const usage = responseExamples("/v0/usage", "get", "200").example
    assert.deepStrictEqual(encode(Payloads.UsageStats, Schema.decodeUnknownSync(Payloads.UsageStats)(usage)), usage)
    const plans = responseExamples("/v0/plans", "get", "200").example as any
    const decoded = Schema.decodeUnknownSync(Payloads.PlansResponse)(plans)
    assert.strictEqual(decoded.plans.free?.monthlyPrice, null)
    assert.strictEqual(decoded.plans.starter?.monthlyPrice?.amount, 29)
    assert.deepStrictEqual(encode(Payloads.PlansResponse, decoded), plans)
    const unlimited = { ...plans, plans: { growth: { ...plans.plans.free, api_keys: "unlimited" } } }
    assert.strictEqual(Schema.decodeUnknownSync(Payloads.PlansResponse)(unlimited).plans.growth?.apiKeys, "unlimited")
    assert.include(errorOf(Payloads.UsageStats, { ...(usage as any), plan: "platinum" }), "plan")
    // `support` lists its levels in a description only, as `current_step` does: a new one decodes as it came.
    const support = componentSchema("Plan").properties.support
    assert.strictEqual(support.type, "string")
    assert.isUndefined(support.enum)
    assert.deepStrictEqual(listedValues(support.description), ["Community", "Standard", "Priority"])
    const newLevel = { ...plans, plans: { free: { ...plans.plans.free, support: "Enterprise" } } }
    assert.strictEqual(Schema.decodeUnknownSync(Payloads.PlansResponse)(newLevel).plans.free?.support, "Enterprise")
    const health = spec().paths["/health"].get.responses["200"].content["application/json"].example
    assert.deepStrictEqual(
      encode(Payloads.HealthResponse, Schema.decodeUnknownSync(Payloads.HealthResponse)(health)),
      health
    )
  })
})
