import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import type { Failed, JobStatus } from "../JobStatus.js"
import type * as QoeryError from "../QoeryError.js"

/** Fields of an Effect error made plain for scripts: `Duration` as milliseconds, `DateTime` as `Date`. */
const plain = (value: unknown): unknown => {
  if (Duration.isDuration(value)) return Duration.toMillis(value)
  if (DateTime.isDateTime(value)) return DateTime.toDate(value)
  return value
}

/** Copies the fields of a tagged error (not `_tag`, `message`, `stack`) onto the plain error. */
export const copyFields = (target: object, source: object) => {
  for (const [key, value] of Object.entries(source)) {
    if (key === "_tag" || key === "message" || key === "stack" || key === "name") continue
    Object.defineProperty(target, key, { value: plain(value), enumerable: true, writable: false, configurable: true })
  }
}

/** The tags of `QoeryError`. */
export type ApiErrorTag = QoeryError.QoeryError["_tag"]

export const messageOf = (u: unknown) =>
  Predicate.hasProperty(u, "message") && typeof u.message === "string" ? u.message : String(u)

export type { Failed, JobStatus }
