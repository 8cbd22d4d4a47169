/**
 * Reads the official OpenAPI spec from ../shared/qoery-openapi (or
 * QOERY_SPEC_DIR), with every $ref across files resolved.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { parse } from "yaml"

const candidates = () =>
  [
    process.env.QOERY_SPEC_DIR,
    path.resolve(import.meta.dirname, "../../../shared/qoery-openapi")
  ].filter((d): d is string => d !== undefined && d !== "")

export const specDir = (): string => {
  for (const dir of candidates()) {
    if (fs.existsSync(path.join(dir, "api.yaml"))) return dir
  }
  throw new Error(
    "The Qoery OpenAPI spec was not found: put it in ../shared/qoery-openapi beside the repository, or set QOERY_SPEC_DIR"
  )
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

/** The whole spec, resolved. */
export const spec = (): any => {
  const file = path.join(specDir(), "api.yaml")
  return resolve(load(file), file)
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
