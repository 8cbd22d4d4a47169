import { DurationFlag } from "@effect-qoery/emulator"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import * as Durations from "../src/internal/duration.js"

describe("duration flags", () => {
  it("the CLI reads durations with the emulator's parser: one meaning for both commands", () => {
    assert.strictEqual(Durations.parse, DurationFlag.parse)
  })

  it("a number with a unit", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["500ms", 500],
      ["1.5s", 1500],
      ["2m", 120_000],
      ["1h", 3_600_000],
      ["2 seconds", 2000],
      ["30S", 30_000]
    ]
    for (const [input, ms] of cases) {
      assert.deepStrictEqual(Either.map(DurationFlag.parse(input), Duration.toMillis), Either.right(ms), input)
    }
  })

  it("a bare number is an error that asks for a unit", () => {
    const problem = Either.match(DurationFlag.parse("30"), { onLeft: (problem) => problem, onRight: () => "parsed" })
    assert.match(problem, /30 has no unit: write 30s, or 30ms/)
  })

  it("zero, negative and words are errors", () => {
    for (const input of ["0s", "-1s", "soon", "5 parsecs", ""]) {
      assert.isTrue(Either.isLeft(DurationFlag.parse(input)), input)
    }
  })
})
