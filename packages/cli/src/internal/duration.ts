import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

const units: Record<string, (n: number) => Duration.Duration> = {
  ms: Duration.millis,
  millis: Duration.millis,
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
 * Parses a duration flag: `500ms`, `1.5s`, `2m`, `1h`, `2 seconds`; a bare
 * number is seconds.
 */
export const parse = (input: string): Either.Either<Duration.Duration, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input)
  const make = match === null ? undefined : units[match[2] === "" ? "s" : match[2].toLowerCase()]
  if (match === null || make === undefined) {
    return Either.left(`${JSON.stringify(input)} is not a duration (expected e.g. 500ms, 1.5s, 2m, 1h)`)
  }
  const duration = make(Number(match[1]))
  return Duration.greaterThan(duration, Duration.zero)
    ? Either.right(duration)
    : Either.left(`${JSON.stringify(input)}: the duration must be more than zero`)
}

/** `0:07`, `1:02:03`: elapsed time for a progress line. */
export const clock = (duration: Duration.Duration): string => {
  const total = Math.floor(Duration.toMillis(duration) / 1000)
  const s = total % 60
  const m = Math.floor(total / 60) % 60
  const h = Math.floor(total / 3600)
  const pad = (n: number) => String(n).padStart(2, "0")
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`
}

/** `4.2s`, `1m 3s`: a short human duration for messages. */
export const short = (duration: Duration.Duration): string => {
  const ms = Duration.toMillis(duration)
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor(total / 60) % 60
  const s = total % 60
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s}s`
}
