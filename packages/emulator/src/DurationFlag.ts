/**
 * The one reading of a duration given on a command line, shared by
 * `qoery-emulator` and the `qoery` command: a number with a unit (`500ms`,
 * `1.5s`, `2m`, `1h`, `2 seconds`). A bare number is an error that asks for a
 * unit, so `--job-duration 30` never means 30 ms in one command and 30 s in
 * the other.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const units: Record<string, (n: number) => Duration.Duration> = {
  ms: Duration.millis,
  millis: Duration.millis,
  millisecond: Duration.millis,
  milliseconds: Duration.millis,
  s: Duration.seconds,
  sec: Duration.seconds,
  second: Duration.seconds,
  seconds: Duration.seconds,
  m: Duration.minutes,
  min: Duration.minutes,
  minute: Duration.minutes,
  minutes: Duration.minutes,
  h: Duration.hours,
  hour: Duration.hours,
  hours: Duration.hours
}

/**
 * Parses a duration flag, giving the reason when it is not one (without the
 * flag's name, which the caller adds).
 *
 * @example
 * ```ts
 * import { DurationFlag } from "@effect-qoery/emulator"
 *
 * DurationFlag.parse("1.5s") // Either.right(Duration.millis(1500))
 * DurationFlag.parse("30") // Either.left("30 has no unit: write 30s, or 30ms")
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<Duration.Duration, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input)
  if (match !== null && match[2] === "") {
    return Either.left(`${match[1]} has no unit: write ${match[1]}s, or ${match[1]}ms`)
  }
  const make = match === null ? undefined : units[match[2].toLowerCase()]
  if (match === null || make === undefined) {
    return Either.left(`${JSON.stringify(input)} is not a duration (expected e.g. 500ms, 1.5s, 2m, 1h)`)
  }
  const duration = make(Number(match[1]))
  return Duration.greaterThan(duration, Duration.zero)
    ? Either.right(duration)
    : Either.left(`${JSON.stringify(input)}: the duration must be more than zero`)
}
