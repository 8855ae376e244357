/** Refs remembered at most; past it the oldest are forgotten (and resolved the long way again). */
const MAX_REFS = 8192;

/**
 * The cache key a local image reference resolved to, and when the stat behind it was taken:
 * within the stat window the same reference resolves to the same key without a path
 * resolution, a stat lookup or a promise (resolveImageNow). A 20,000-row run over 20 images
 * spent ~7% of its main thread resolving images it had resolved moments before.
 */
export class RecentRefs {
  private readonly refs = new Map<string, { at: number; key: string }>();

  constructor(private readonly windowMs: number) {}

  /** The key `ref` resolved to, when its stat is younger than the window. */
  key(ref: string, now: number): string | undefined {
    const hit = this.refs.get(ref);
    return hit && now - hit.at < this.windowMs ? hit.key : undefined;
  }

  remember(ref: string, at: number, key: string): void {
    const hit = this.refs.get(ref);
    if (hit) {
      if (hit.at >= at) return;
      this.refs.delete(ref); // re-inserted below, as the newest
    } else if (this.refs.size >= MAX_REFS) this.refs.delete(this.refs.keys().next().value as string);
    this.refs.set(ref, { at, key });
  }
}
