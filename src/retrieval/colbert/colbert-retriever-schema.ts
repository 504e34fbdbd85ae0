import { z } from "zod";

/** The `colbert` first stage's options (plain zod, cheap to load: checked before anything opens). */
export const colbertRetrieverSchema = z.strictObject({
  type: z.literal("colbert"),
  /** Index folder with a residual ColBERT store (`winnow index --colbert M --colbert-compression residual-2bit`); default: the context's index. */
  index: z.string().min(1).optional(),
  /** ColBERT model for queries (default: the one recorded in the store). */
  model: z.string().min(1).optional(),
  dtype: z.enum(["fp32", "int8"]).optional(),
  /** Centroids probed per query token (PLAID's nprobe). */
  nprobe: z.number().int().min(1).max(1024).optional(),
  /** Candidates scored exactly after centroid interaction. */
  exactCandidates: z.number().int().min(1).max(100_000).optional(),
  threads: z.number().int().min(1).optional(),
  offline: z.boolean().optional(),
});

export type ColbertRetrieverSpec = z.infer<typeof colbertRetrieverSchema>;
