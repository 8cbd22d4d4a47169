/** A fresh folder under the system's temporary folder, named after what it is for. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const tempDir = (purpose = "test"): string => fs.mkdtempSync(path.join(os.tmpdir(), `qoery-${purpose}-`))
