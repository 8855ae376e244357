import { appendFileSync } from "node:fs";

export async function resolve(specifier, context, next) {
  if (process.env.TRACE_IMPORTS && /^(@[^/.][^/]*\/)?[^/.][^/:]*/.test(specifier))
    appendFileSync(process.env.TRACE_IMPORTS, `${specifier}\n`);
  return next(specifier, context);
}
