#!/usr/bin/env node
// The `qoery` command. The bin points here, at a file that is in the repository, so that
// installing the workspace links it before anything is built; it runs the build in ../dist.
import { existsSync } from "node:fs"

const built = new URL("../dist/bin.js", import.meta.url)
if (!existsSync(built)) {
  process.stderr.write(
    "qoery: ../dist/bin.js is missing; run `pnpm build` first (or `pnpm qoery` from the repository)\n"
  )
  process.exit(1)
}
await import(built.href)
