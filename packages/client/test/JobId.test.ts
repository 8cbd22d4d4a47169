import { JobId } from "@effect-qoery/client"
import { assert, describe, it } from "@effect/vitest"
import { Either, ParseResult } from "effect"

const message = (input: unknown) => {
  const result = JobId.decode(input)
  assert.isTrue(Either.isLeft(result), `${String(input)} should be rejected`)
  return ParseResult.TreeFormatter.formatErrorSync((result as Either.Left<ParseResult.ParseError, unknown>).left)
}

describe("JobId", () => {
  it("accepts ids of the spec's pattern that are real dates and times", () => {
    for (const id of ["20251110_151628", "20240229_235959", "20000101_000000"]) {
      assert.strictEqual(JobId.make(id), id)
      assert.isTrue(JobId.is(id))
    }
  })

  it("rejects strings that do not match the pattern, saying what a job id looks like", () => {
    for (
      const bad of [
        "",
        " ",
        "20251110-151628",
        "2025111_151628",
        "20251110_1516289",
        "x20251110_151628",
        "٢٠٢٥١١١٠_١٥١٦٢٨"
      ]
    ) {
      assert.include(message(bad), "YYYYMMDD_HHMMSS")
    }
    assert.include(message(42), "Expected string")
  })

  it("rejects ids that match the pattern but are no real date and time", () => {
    assert.include(message("20251310_151628"), "month 13 does not exist")
    assert.include(message("20250230_000000"), "day 30 does not exist in 202502")
    assert.include(message("20230229_000000"), "day 29 does not exist")
    assert.include(message("20251110_246060"), "hour 24 does not exist")
    assert.include(message("20251110_236000"), "minute 60 does not exist")
    assert.include(message("20251110_235960"), "second 60 does not exist")
    assert.include(message("20251100_000000"), "day 00 does not exist")
  })

  it("make throws an Error that says what is wrong", () => {
    assert.throws(() => JobId.make("20251310_151628"), /Invalid job id: .*month 13/)
  })

  it("a long input is cut in the message", () => {
    const long = "9".repeat(10_000)
    assert.isBelow(message(long).length, 300)
  })

  it("the check run on every request and status (isFast) agrees with the schema", () => {
    const inputs: Array<unknown> = [42, null, "", "2025111_151628", "20251110_1516289"]
    for (const id of ["20251110_151628", "20240229_235959", "20230229_000000", "20251231_000000", "00000101_000000"]) {
      inputs.push(id)
      // every character of the id replaced by a digit, a separator, a letter, a non-ASCII digit
      for (let i = 0; i < id.length; i++) {
        for (const c of ["0", "1", "2", "3", "5", "6", "9", "_", "/", ":", "a", " ", "٢"]) {
          inputs.push(id.slice(0, i) + c + id.slice(i + 1))
        }
      }
    }
    let accepted = 0
    for (const input of inputs) {
      assert.strictEqual(JobId.isFast(input), JobId.is(input), String(input))
      if (JobId.is(input)) accepted++
    }
    assert.isAbove(accepted, 50)
    assert.isAbove(inputs.length - accepted, 300)
  })

  it("fromDate gives the id of a start time", () => {
    assert.strictEqual(JobId.fromDate(new Date(Date.UTC(2025, 10, 10, 15, 16, 28))), "20251110_151628")
  })
})
