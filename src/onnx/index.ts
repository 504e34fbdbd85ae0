// The `winnow/onnx` entry (docs/onnx-tools.md): the seeded model generator, int8 dynamic
// quantization and the int8 kernel probe, transformer graph fusion, the fidelity check, and
// reading and writing ONNX graphs for them. ONNX Runtime loads when a probe or check runs.
export { generateModel, ensureGeneratedModel, defaultModelCacheDir, DEFAULT_SEED as DEFAULT_MODEL_SEED, type GenerateModelOptions, type EnsureModelOptions } from "./generate.js";
export { MODEL_PRESETS, isModelPresetName, type ModelPresetName, type ModelPreset } from "./presets.js";
export { quantizeModel, quantizeFile, resolveWeightScheme, type QuantizeOptions, type QuantizeReport } from "./quantize.js";
export { probeInt8Kernels, formatInt8Probe, schemeIsExact, INT8_WEIGHT_SCHEMES, type Int8KernelProbe, type Int8WeightScheme } from "./int8-kernel-probe.js";
export { inspectInt8Weights, type Int8WeightsInfo } from "./int8-weights.js";
export { fuseModel, fuseFile, type FuseOptions, type FusionReport } from "./fuse.js";
export { measureFidelity, formatFidelityReport, type FidelityOptions, type FidelityReport } from "./fidelity.js";
export { loadModel as loadOnnxModel, saveModel as saveOnnxModel, type ModelProto } from "./onnx-graph.js";
