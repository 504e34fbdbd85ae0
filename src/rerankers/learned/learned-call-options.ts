/** A learned reranker's per-call options (`options.family.learned`). */
export interface LearnedCallOptions {
  /** Attach each result's feature values as `details.features`. */
  explain?: boolean;
}

declare module "../../core/types.js" {
  interface FamilyCallOptions {
    learned?: LearnedCallOptions;
  }
}
