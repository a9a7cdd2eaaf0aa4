import { encode, REACTION_WINDOW_MS, type ReactionName } from "../protocol";
import { Throttle } from "./throttle";

/**
 * Sums reactions over a window and publishes one `reactions` frame per window, so the room's outgoing
 * work is four broadcasts a second however many reactions arrive.
 */
export class ReactionAggregator {
  private counts: Partial<Record<ReactionName, number>> = {};
  private readonly throttle: Throttle;

  constructor(private readonly publish: (frame: string) => void) {
    this.throttle = new Throttle(() => this.flush(), REACTION_WINDOW_MS, REACTION_WINDOW_MS);
  }

  add(emoji: ReactionName): void {
    this.counts[emoji] = (this.counts[emoji] ?? 0) + 1;
    this.throttle.request();
  }

  private flush(): void {
    const counts = this.counts;
    this.counts = {};
    this.publish(encode({ type: "reactions", counts, windowMs: REACTION_WINDOW_MS }));
  }
}
