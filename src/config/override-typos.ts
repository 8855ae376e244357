/**
 * `+inference.temperature=0` and `inference.temperature=0` are `++` overrides with a `+` too
 * few: commander would call them "too many arguments". Finds the first such argument and says
 * what to type. A bare `key=value` counts only when its first key is a settings key, so that
 * a positional argument holding "=" is left alone.
 */
export async function overrideTypo(args: readonly string[]): Promise<string | undefined> {
  const pattern = /^(\+?)([A-Za-z_][\w-]*)((?:\.[\w-]+)*)=/;
  let known: Set<string> | undefined;
  for (const a of args) {
    const m = pattern.exec(a);
    if (!m) continue;
    if (m[1] !== "+") {
      // Loaded only when an argument looks like an override: most command lines have none.
      known ??= new Set(Object.keys((await import("./generation-config.js")).GenerationConfigSchema.shape));
      if (!known.has(m[2] as string)) continue;
    }
    const fixed = `++${a.replace(/^\+/, "")}`;
    return `"${a}" is not understood: did you mean ${fixed}? (overrides start with ++)`;
  }
  return undefined;
}
