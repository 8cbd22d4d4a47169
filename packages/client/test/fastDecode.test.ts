import { JobStatus } from "@effect-qoery/client"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Either, Schema } from "effect"
import { wireStatus } from "../../../test/support/statuses.js"
import { parseMillis, utc } from "../src/internal/timestamp.js"

// The very instance `JobStatus.decodeUnknown` runs, not one built here.
const fast = JobStatus.decodeFast
const schema = Schema.decodeUnknownEither(JobStatus.JobStatus)

// The spec's processing example.
const base = wireStatus()

const values: ReadonlyArray<unknown> = [
  undefined,
  null,
  0,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  "",
  "x",
  "8",
  true,
  [],
  {},
  ["a", 1],
  "processing",
  "completed",
  "error",
  "searching",
  "finalizing",
  "paused",
  "uploading",
  "20251110_151629",
  "20251310_151628",
  "20250229_000000",
  "20240229_000000",
  "2025-11-10T15:16:45Z",
  "2025-11-10T15:16:45.5Z",
  "2025-11-10T15:16:45.123456+02:00",
  "2025-11-10t15:16:45z",
  "2025-02-30T00:00:00Z",
  "2025-11-10T24:00:00Z",
  "2025-11-10T15:16:45",
  "2025-11-10 15:16:45Z",
  "2025-11-10T15:16:45+2:00",
  "2025-11-10T15:16:45.Z",
  "Failed to scrape"
]

/** Every input made from the base by setting one field (top level or in progress) to each of the values. */
function* mutations(): Generator<unknown> {
  for (const status of ["processing", "completed", "error"]) {
    const start = { ...base, status }
    yield start
    for (const key of [...Object.keys(base), "extra"]) {
      for (const value of values) {
        const copy: Record<string, unknown> = { ...start, [key]: value }
        if (value === undefined) delete copy[key]
        yield copy
      }
    }
    for (const key of [...Object.keys(base.progress), "extra"]) {
      for (const value of values) {
        const progress: Record<string, unknown> = { ...base.progress, [key]: value }
        if (value === undefined) delete progress[key]
        yield { ...start, progress }
      }
    }
  }
  for (const value of values) yield value
}

describe("the fast status decoder", () => {
  it("accepts and rejects exactly what the schema does, and builds equal values", () => {
    let accepted = 0
    let rejected = 0
    for (const input of mutations()) {
      const bySchema = schema(input)
      const byHand = fast(input)
      const label = JSON.stringify(input)
      if (Either.isRight(bySchema)) {
        assert.isDefined(byHand, `the fast path should accept ${label}`)
        assert.deepStrictEqual(byHand, bySchema.right, label)
        assert.strictEqual(Object.getPrototypeOf(byHand), Object.getPrototypeOf(bySchema.right))
        assert.strictEqual(Object.getPrototypeOf(byHand!.progress), JobStatus.JobProgress.prototype)
        accepted++
      } else {
        assert.isUndefined(byHand, `the fast path should reject ${label}`)
        rejected++
      }
    }
    assert.isAbove(accepted, 100)
    assert.isAbove(rejected, 500)
  })

  it("a step the client does not know decodes on both paths, as it came, and a known one stays known", () => {
    for (const step of ["uploading", "Scraping", ""]) {
      const input = { ...base, progress: { ...base.progress, current_step: step } }
      const bySchema = schema(input)
      const byHand = fast(input)
      assert.isTrue(Either.isRight(bySchema), step)
      assert.isDefined(byHand, step)
      assert.deepStrictEqual(byHand, (bySchema as Either.Right<any, JobStatus.JobStatus>).right)
      assert.strictEqual(byHand!.progress.currentStep, step)
      assert.isFalse(JobStatus.isKnownStep(byHand!.progress.currentStep))
    }
    assert.isTrue(JobStatus.isKnownStep(fast(base)!.progress.currentStep))
    const notAString = { ...base, progress: { ...base.progress, current_step: 3 } }
    assert.isUndefined(fast(notAString))
    assert.isTrue(Either.isLeft(schema(notAString)))
  })

  it("decodeUnknown gives the schema's error, with the path, when the input is invalid", () => {
    const result = JobStatus.decodeUnknown({ ...base, progress: { ...base.progress, urls_total: -1 } })
    assert.isTrue(Either.isLeft(result))
    assert.include(String((result as Either.Left<any, any>).left), "urls_total")
  })

  it("values built by the fast path encode back to the wire JSON", () => {
    const decoded = JobStatus.decodeJson(
      JSON.stringify({ ...base, status: "completed", completed_at: "2025-11-10T15:18:12Z" })
    )
    const { error: _, ...wire } = { ...base, status: "completed", completed_at: "2025-11-10T15:18:12Z" }
    assert.deepStrictEqual(Schema.encodeSync(JobStatus.JobStatus)(decoded), wire as unknown)
  })
})

describe("parseMillis", () => {
  it("agrees with Date.parse on valid RFC 3339 date-times", () => {
    for (
      const s of [
        "2025-11-10T15:16:45Z",
        "2025-11-10T15:16:45.1Z",
        "2025-11-10T15:16:45.12Z",
        "2025-11-10T15:16:45.123Z",
        "2025-11-10T15:16:45.123999Z",
        "2025-11-10T15:16:45+02:00",
        "2025-11-10T15:16:45-05:30",
        "2024-02-29T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2025-11-10t15:16:45z"
      ]
    ) {
      assert.strictEqual(parseMillis(s), Date.parse(s.toUpperCase()), s)
    }
  })

  it("rejects what is not a real instant in RFC 3339", () => {
    for (
      const s of [
        "",
        "2025-11-10",
        "2025-11-10T15:16:45",
        "2025-11-10 15:16:45Z",
        "2025-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z",
        "2025-11-10T24:00:00Z",
        "2025-11-10T23:60:00Z",
        "2025-11-10T23:59:60Z",
        "2025-11-10T15:16:45.Z",
        "2025-11-10T15:16:45+0200",
        "2025-11-10T15:16:45+24:00",
        "2025-11-10T15:16:45Zjunk",
        "２０２５-11-10T15:16:45Z",
        "202a-11-10T15:16:45Z",
        "2025-1a-10T15:16:45Z",
        "2025-11-10T15:16:45+0a:00",
        "yesterday at noon!!"
      ]
    ) {
      assert.isUndefined(parseMillis(s), s)
    }
  })
})

describe("utc", () => {
  it("builds what DateTime.unsafeMake does: the same prototype, own properties and behaviour", () => {
    const t = Date.parse("2025-11-10T15:16:45.120Z")
    const ours = utc(t)
    const theirs = DateTime.unsafeMake(t)
    assert.strictEqual(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs))
    assert.deepStrictEqual(Object.getOwnPropertyDescriptors(ours), Object.getOwnPropertyDescriptors(theirs))
    assert.isTrue(DateTime.Equivalence(ours, theirs))
    assert.strictEqual(DateTime.formatIso(ours), "2025-11-10T15:16:45.120Z")
    assert.deepStrictEqual(DateTime.toPartsUtc(ours), DateTime.toPartsUtc(theirs))
  })
})

describe("JobStatus.formatTimestamp", () => {
  it("gives the wire form that Timestamp encodes, milliseconds only when there are some", () => {
    const t = Date.parse("2025-11-10T15:16:45Z")
    assert.strictEqual(JobStatus.formatTimestamp(t), "2025-11-10T15:16:45Z")
    assert.strictEqual(JobStatus.formatTimestamp(t + 120), "2025-11-10T15:16:45.120Z")
    assert.strictEqual(JobStatus.formatTimestamp(DateTime.unsafeMake(t)), "2025-11-10T15:16:45Z")
    assert.strictEqual(Schema.encodeSync(JobStatus.Timestamp)(DateTime.unsafeMake(t + 120)), "2025-11-10T15:16:45.120Z")
  })
})
