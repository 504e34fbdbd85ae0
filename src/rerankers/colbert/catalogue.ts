/**
 * Known ColBERT checkpoints and what running each needs. Unknown folders still work:
 * everything is read from the folder's own artifact.metadata or PyLate config; a row
 * adds the ONNX file names the repo publishes, recipe facts its files do not state,
 * and what `winnow models` tells users. Sources are named per row; no hub is
 * reachable here, so figures are the repos' and the reference implementations' own.
 */
export interface ColbertCatalogueEntry {
  id: string;
  architecture: "bert" | "xlm-roberta" | "modernbert";
  params: string;
  dims: number;
  format: "colbert" | "pylate";
  licence: string;
  /** Only for non-commercial use: said wherever the row is shown. */
  nonCommercial?: boolean;
  onnxFiles: { fp32?: string; int8?: string };
  /** Marker token ids the tokenizer defines beyond its vocabulary (XLM-R models). */
  markerIds?: { query: number; document: number };
  /** Query [MASK]s are attended to regardless of what the settings file says. */
  attendToMaskTokens?: boolean;
  /** How to get an ONNX graph when the repo publishes none. */
  exportHint?: string;
  note: string;
}

export const COLBERT_CATALOGUE: readonly ColbertCatalogueEntry[] = [
  {
    id: "colbert-ir/colbertv2.0",
    architecture: "bert",
    params: "110M",
    dims: 128,
    format: "colbert",
    licence: "MIT",
    // fastembed's row for this repo (late_interaction/colbert.py): model_file "model.onnx" at the root.
    onnxFiles: { fp32: "model.onnx" },
    note: "ColBERTv2 (BERT-base); projection linear.weight, settings in artifact.metadata (query_maxlen 32, doc_maxlen 180, dim 128)",
  },
  {
    id: "answerdotai/answerai-colbert-small-v1",
    architecture: "bert",
    params: "33M",
    dims: 96,
    format: "colbert",
    licence: "Apache-2.0",
    // fastembed loads vespa_colbert.onnx; the repo also ships onnx/model.onnx.
    onnxFiles: { fp32: "vespa_colbert.onnx" },
    note: "MiniLM-size ColBERT (96 dims); ONNX in onnx/ and vespa_colbert.onnx",
  },
  {
    id: "mixedbread-ai/mxbai-colbert-large-v1",
    architecture: "bert",
    params: "335M",
    dims: 128,
    format: "colbert",
    licence: "Apache-2.0",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx" },
    note: "BERT-large ColBERT; onnx/model*.onnx",
  },
  {
    id: "jinaai/jina-colbert-v2",
    architecture: "xlm-roberta",
    params: "560M",
    dims: 128,
    format: "colbert",
    licence: "CC-BY-NC-4.0",
    nonCommercial: true,
    // fastembed (late_interaction/jina_colbert.py): onnx/model.onnx + onnx/model.onnx_data,
    // query/document markers 250002/250003, <mask> padding, query attention mask always 1.
    onnxFiles: { fp32: "onnx/model.onnx" },
    markerIds: { query: 250002, document: 250003 },
    attendToMaskTokens: true,
    note: "multilingual XLM-R ColBERT, ONNX with external data (onnx/model.onnx_data); NON-COMMERCIAL licence (CC BY-NC 4.0)",
  },
  {
    id: "lightonai/GTE-ModernColBERT-v1",
    architecture: "modernbert",
    params: "149M",
    dims: 128,
    format: "pylate",
    licence: "Apache-2.0",
    onnxFiles: {},
    // lightonai/next-plaid onnx/README.md: `colbert-export` writes model.onnx (+ model_int8.onnx with --quantize).
    exportHint:
      'pip install "colbert-export @ git+https://github.com/lightonai/lategrep.git#subdirectory=onnx/python" && colbert-export lightonai/GTE-ModernColBERT-v1 -o DIR (then --model DIR/GTE-ModernColBERT-v1 -O onnxFile=model.onnx)',
    note: "PyLate export: projection in 1_Dense, settings in config_sentence_transformers.json; no ONNX published (export it)",
  },
];

export function colbertCatalogueEntry(model: string): ColbertCatalogueEntry | undefined {
  return COLBERT_CATALOGUE.find((e) => e.id === model);
}
