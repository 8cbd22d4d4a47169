/**
 * Reads the official OpenAPI spec from ../shared/qoery-openapi (or
 * QOERY_SPEC_DIR), with every $ref across files resolved.
 *
 * The spec is not part of the repository. Tests that need it register through
 * `whenSpec`: without the spec they are reported as skipped, with a reason
 * that says how to run them, except where the spec is required (`CI` or
 * `QOERY_REQUIRE_SPEC=1`), where its absence is a failing test.
 */
import { describe, it, layer } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse } from "yaml"

const candidates = () =>
  [
    process.env.QOERY_SPEC_DIR,
    path.resolve(import.meta.dirname, "../../../shared/qoery-openapi")
  ].filter((d): d is string => d !== undefined && d !== "")

const found = (): string | undefined => candidates().find((dir) => fs.existsSync(path.join(dir, "api.yaml")))

const notFound =
  "The Qoery OpenAPI spec was not found: put the qoery-openapi folder in ../shared/ beside the repository, " +
  "or set QOERY_SPEC_DIR to it"

const isSet = (value: string | undefined) => value !== undefined && !["", "0", "false"].includes(value.toLowerCase())

/** CI always has the spec: there, and with QOERY_REQUIRE_SPEC=1, a missing spec fails instead of skipping. */
export const specRequired = (): boolean => isSet(process.env.CI) || process.env.QOERY_REQUIRE_SPEC === "1"

export const specDir = (): string => {
  const dir = found()
  if (dir === undefined) throw new Error(notFound)
  return dir
}

/** Without the spec: one test, skipped with the reason, or failing where the spec is required. */
const missing = () => {
  if (specRequired()) {
    it("finds the Qoery OpenAPI spec (required: CI or QOERY_REQUIRE_SPEC=1 is set)", () => {
      throw new Error(notFound)
    })
  } else {
    it("needs the Qoery OpenAPI spec", (ctx) => {
      ctx.skip(`${notFound}, to run these tests (CI requires them)`)
    })
  }
}

/**
 * `describe` for tests that read the spec. Its body must read the spec only
 * inside it (not at import): without the spec the body is not run.
 */
export const describeSpec = (name: string, body: () => void): void => {
  describe(name, found() === undefined ? missing : body)
}

/** `layer` from @effect/vitest for tests that read the spec, as `describeSpec`. */
export const layerSpec: typeof layer = (layer_, options) => {
  if (found() !== undefined) return layer(layer_, options)
  return (...args: [unknown] | [string, unknown]) => {
    describe(typeof args[0] === "string" ? args[0] : "the spec", missing)
  }
}

const cache = new Map<string, unknown>()
const load = (file: string): any => {
  if (!cache.has(file)) cache.set(file, parse(fs.readFileSync(file, "utf8")))
  return cache.get(file)
}

const pointer = (doc: any, fragment: string): any =>
  fragment.split("/").slice(1).reduce(
    (node, part) => node[part.replace(/~1/g, "/").replace(/~0/g, "~")],
    doc
  )

/** Resolves every $ref (relative files and fragments) into one plain tree. */
export const resolve = (node: any, file: string, seen: ReadonlyArray<string> = []): any => {
  if (Array.isArray(node)) return node.map((n) => resolve(n, file, seen))
  if (node === null || typeof node !== "object") return node
  if (typeof node.$ref === "string") {
    const [target, fragment = ""] = node.$ref.split("#")
    const targetFile = target === "" ? file : path.resolve(path.dirname(file), target)
    const key = `${targetFile}#${fragment}`
    if (seen.includes(key)) throw new Error(`circular $ref ${key}`)
    const { $ref: _, ...rest } = node
    return { ...resolve(pointer(load(targetFile), fragment), targetFile, [...seen, key]), ...resolve(rest, file, seen) }
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) out[k] = resolve(v, file, seen)
  return out
}

let resolved: any
/** The whole spec, resolved (once). */
export const spec = (): any => {
  if (resolved === undefined) {
    const file = path.join(specDir(), "api.yaml")
    resolved = resolve(load(file), file)
  }
  return resolved
}

/** The examples of a response: `{ name: value }`. */
export const responseExamples = (pathName: string, method: string, status: string): Record<string, unknown> => {
  const content = spec().paths[pathName][method].responses[status].content["application/json"]
  if (content.examples) {
    return Object.fromEntries(Object.entries(content.examples).map(([k, v]: [string, any]) => [k, v.value]))
  }
  return content.example === undefined ? {} : { example: content.example }
}

/** A component schema, resolved. */
export const componentSchema = (name: string): any => spec().components.schemas[name]

/** Examples of a response from api.yaml and from the file under api/paths/ that also defines the path. */
export const allResponseExamples = (pathName: string, method: string, status: string): Record<string, unknown> => {
  const fromRoot = responseExamples(pathName, method, status)
  const file = path.join(specDir(), "api/paths/datasets.yaml")
  const doc = resolve(load(file), file)
  const content = doc.paths[pathName]?.[method]?.responses?.[status]?.content?.["application/json"]
  const fromPaths = content?.examples
    ? Object.fromEntries(Object.entries(content.examples).map(([k, v]: [string, any]) => [k, v.value]))
    : {}
  return { ...fromPaths, ...fromRoot }
}
