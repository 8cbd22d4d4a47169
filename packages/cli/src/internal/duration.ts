/**
 * Durations on the command line: flags are read by the emulator's
 * `DurationFlag.parse` (one meaning for both commands), and shown here as a
 * clock or a short text.
 */
import * as DurationFlag from "@effect-qoery/emulator/DurationFlag"
import * as Duration from "effect/Duration"

/** Parses a duration flag: `500ms`, `1.5s`, `2m`, `1h`, `2 seconds`; a bare number asks for a unit. */
export const parse = DurationFlag.parse

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
